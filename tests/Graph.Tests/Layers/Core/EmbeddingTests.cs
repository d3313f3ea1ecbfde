using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Layers.Core;

public sealed class EmbeddingTests
{
    private static readonly float[] Ids = [1, 4, 0, 2, 0, 0, 3, 3];

    [Fact]
    public void LooksUpRows()
    {
        var layer = new Embedding(5, 3);
        var (y, dims) = LayerRun.One(layer, Ids, [2, 4]);
        Assert.Equal([2, 4, 3], dims);
        Assert.Equal(15, layer.CountParams());
        var e = layer.Weights[0].Data;
        Assert.All(e, v => Assert.InRange(v, -0.05f, 0.05f));
        Reference.AssertClose(Ids.SelectMany(id => Enumerable.Range(0, 3).Select(j => e[(int)id * 3 + j])).ToArray(), y);
    }

    [Fact]
    public void MaskZeroAttachesTheMaskOfNonZeroIds()
    {
        var layer = new Embedding(5, 3, maskZero: true);
        var g = new GraphBuilder();
        var x = g.AddInput("ids", DataType.Float, Shape.Of(Dim.Batch, 4));
        var ctx = new CallContext();
        var y = layer.Emit(g, [x], ctx)[0];
        var mask = ctx.MaskOf(y) ?? throw new Xunit.Sdk.XunitException("no mask on the Embedding output");
        Assert.Equal(DataType.Bool, mask.DType);
        Assert.Equal(Shape.Of(Dim.Batch, 4), mask.Shape);
        g.AddOutput(y, "y");
        g.AddOutput(g.Node1("Cast", [mask], [Attr.Int("to", (long)DataType.Float)]), "mask");
        var model = g.ToModel();
        OnnxChecker.Check(model);
        var outs = Ort.Run(model, ("ids", Ids, [2, 4]));
        Reference.AssertClose(Ids.Select(v => v != 0 ? 1f : 0f).ToArray(), outs["mask"].Data);
    }

    [Fact]
    public void WithoutMaskZeroNoMask()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("ids", DataType.Float, Shape.Of(Dim.Batch, 4));
        var ctx = new CallContext();
        var y = new Embedding(5, 3).Emit(g, [x], ctx)[0];
        Assert.Null(ctx.MaskOf(y));
    }

    [Fact]
    public void Keras2ConfigWithInputLengthImports()
    {
        var c = KerasJson.ReadConfig<EmbeddingConfig>("""
            {"name": "embedding", "trainable": true, "batch_input_shape": [null, 10], "dtype": "float32", "input_dim": 100,
             "output_dim": 8, "embeddings_initializer": {"class_name": "RandomUniform", "config": {"minval": -0.05, "maxval": 0.05, "seed": null}},
             "embeddings_regularizer": null, "activity_regularizer": null, "embeddings_constraint": null, "mask_zero": true, "input_length": 10}
            """);
        var layer = new Embedding(c);
        Assert.True(layer.Config.MaskZero);
        Assert.Equal(10, layer.Config.InputLength);
    }

    [Theory]
    [InlineData(0, 3, "input_dim")]
    [InlineData(5, -1, "output_dim")]
    public void NonPositiveDimsAreRejected(int inputDim, int outputDim, string what)
    {
        var e = Assert.Throws<ArgumentException>(() => new Embedding(inputDim, outputDim));
        Assert.Contains(what, e.Message);
    }
}
