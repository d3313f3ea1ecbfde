using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Ops;

public sealed class RandomTests
{
    [Fact]
    public void RandomOpsInferShapesAndRunInOrt()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, 500));
        var u = g.Node1("RandomUniformLike", [x], [Attr.Float("low", 2), Attr.Float("high", 3), Attr.Float("seed", 1)]);
        var n = g.Node1("RandomNormalLike", [x], [Attr.Float("mean", 5), Attr.Float("scale", 0.1f), Attr.Float("seed", 2)]);
        var fixedShape = g.Node1("RandomUniform", [], [Attr.Ints("shape", [3L, 4]), Attr.Float("seed", 3)]);
        var bern = g.Node1("Bernoulli", [g.Node1("Mul", [u, g.Scalar(0, DataType.Float)])], [Attr.Float("seed", 4)]);
        Assert.Equal(x.Shape, u.Shape);
        Assert.Equal(x.Shape, n.Shape);
        Assert.Equal(Shape.Of(3, 4), fixedShape.Shape);
        Assert.Equal(DataType.Float, fixedShape.DType);
        Assert.Equal(x.Shape, bern.Shape);
        g.AddOutput(u, "u");
        g.AddOutput(n, "n");
        g.AddOutput(fixedShape, "f");
        g.AddOutput(bern, "b");
        var model = g.ToModel();
        OnnxChecker.Check(model);
        var outs = Ort.Run(model, ("x", new float[2 * 500], [2, 500]));
        Assert.All(outs["u"].Data, v => Assert.InRange(v, 2f, 3f));
        Assert.InRange(outs["n"].Data.Average(), 4.98, 5.02);
        Assert.Equal([3, 4], outs["f"].Dims);
        Assert.All(outs["b"].Data, v => Assert.True(v is 0f or 1f));
    }

    [Fact]
    public void DtypeAttributeOverridesTheInputType()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(2));
        var u = g.Node1("RandomUniformLike", [x], [Attr.Int("dtype", (long)DataType.Double)]);
        Assert.Equal(DataType.Double, u.DType);
    }

    /// <summary>A random sample is a constant for the autodiff: d/dx Σ(x + N(x)) = 1 and d/dx Σ(x·U(x)) = U, with no
    /// gradient rule asked of the random op (GaussianNoise, GaussianDropout and RandomContrast train through this).</summary>
    [Fact]
    public void RandomSamplesAreConstantsForTheAutodiff()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, 3));
        var noise = g.Node1("RandomNormalLike", [x], [Attr.Float("seed", 1)]);
        var mask = g.Node1("RandomUniformLike", [x], [Attr.Float("seed", 2)]);
        var loss = g.Node1("ReduceSum", [g.Node1("Add", [g.Node1("Add", [x, noise]), g.Node1("Mul", [x, mask])])], [Attr.Int("keepdims", 0)]);
        var dx = Gradients.Build(g, loss, [x])[x.Name];
        g.AddOutput(dx, "dx");
        g.AddOutput(mask, "mask");
        var model = g.ToModel();
        OnnxChecker.Check(model);
        var outs = Ort.Run(model, ("x", new float[6], [2, 3]));
        Assert.Equal(outs["mask"].Data.Select(m => 1 + m), outs["dx"].Data);
    }
}
