using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Models;

public sealed class ModelExportTests
{
    private static float[] Relu(float[] x) => x.Select(v => Math.Max(0, v)).ToArray();

    [Fact]
    public void SequentialMlpExportsAndRuns()
    {
        var d1 = new Dense(64, "relu");
        var d2 = new Dense(32, "relu");
        var d3 = new Dense(10, "softmax");
        var model = new Sequential([new InputLayer(new InputLayerConfig { BatchShape = [null, 16] }), d1, new Dropout(0.5), d2, d3]);
        Assert.Equal(16 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10, model.CountParams());
        var x = Reference.Random(3 * 16, 71);
        var (y, dims) = LayerRun.Model(model, null, (x, [3, 16]))[0];
        Assert.Equal([3, 10], dims);
        var h = Relu(Reference.Dense(x, 3, 16, d1.Weights[0].Data, 64, d1.Weights[1].Data));
        h = Relu(Reference.Dense(h, 3, 64, d2.Weights[0].Data, 32, d2.Weights[1].Data));
        Reference.AssertClose(Reference.Softmax(Reference.Dense(h, 3, 32, d3.Weights[0].Data, 10, d3.Weights[1].Data), 3, 10), y);
    }

    [Fact]
    public void FunctionalTwoInputConcatenateExportsAndRuns()
    {
        var a = Input.Of([5], "a");
        var b = Input.Of([3], "b");
        var dense = new Dense(2);
        var model = new Functional([a, b], [dense.Apply(new Concatenate().Apply(a, b))]);
        var xa = Reference.Random(4 * 5, 72);
        var xb = Reference.Random(4 * 3, 73);
        var (y, dims) = LayerRun.Model(model, null, (xa, [4, 5]), (xb, [4, 3]))[0];
        Assert.Equal([4, 2], dims);
        var joined = Enumerable.Range(0, 4).SelectMany(r => xa[(r * 5)..(r * 5 + 5)].Concat(xb[(r * 3)..(r * 3 + 3)])).ToArray();
        Reference.AssertClose(Reference.Dense(joined, 4, 8, dense.Weights[0].Data, 2, dense.Weights[1].Data), y);
    }

    [Fact]
    public void TwoOutputModelExportsBothOutputs()
    {
        var x = Input.Of(6);
        var shared = new Dense(4, "relu");
        var h = shared.Apply(x);
        var head1 = new Dense(1, "sigmoid");
        var head2 = new Dense(3, "softmax");
        var model = new Functional([x], [head1.Apply(h), head2.Apply(h)]);
        var data = Reference.Random(2 * 6, 74);
        var outs = LayerRun.Model(model, null, (data, [2, 6]));
        Assert.Equal(2, outs.Count);
        Assert.Equal([2, 1], outs[0].Dims);
        Assert.Equal([2, 3], outs[1].Dims);
        var hv = Relu(Reference.Dense(data, 2, 6, shared.Weights[0].Data, 4, shared.Weights[1].Data));
        var o1 = Reference.Dense(hv, 2, 4, head1.Weights[0].Data, 1, head1.Weights[1].Data).Select(v => 1 / (1 + MathF.Exp(-v))).ToArray();
        Reference.AssertClose(o1, outs[0].Data, what: "sigmoid head");
        Reference.AssertClose(Reference.Softmax(Reference.Dense(hv, 2, 4, head2.Weights[0].Data, 3, head2.Weights[1].Data), 2, 3), outs[1].Data, what: "softmax head");
    }

    [Fact]
    public void TrainingExportWithDropoutIsValid()
    {
        var model = new Sequential([new InputLayer(new InputLayerConfig { BatchShape = [null, 8] }), new Dense(8, "relu"), new Dropout(0.3), new Dense(2)]);
        var (y, dims) = LayerRun.Model(model, new ExportOptions { Training = true, Seed = 5 }, (Reference.Random(16, 75), [2, 8]))[0];
        Assert.Equal([2, 2], dims);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
    }
}
