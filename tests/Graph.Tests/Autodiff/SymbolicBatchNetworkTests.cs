using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using static NeuralService.Graph.Tests.Support.GradientTesting;

namespace NeuralService.Graph.Tests.Autodiff;

/// <summary>A small CNN with a symbolic batch dim: every rule on the path has to cope with the unknown batch.</summary>
public sealed class SymbolicBatchNetworkTests
{
    [SkippableFact]
    public void ConvNetWithSymbolicBatchMatchesFiniteDifferences()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", GradientTesting.Float, Shape.Of(Dim.Batch, 2, 6, 6));
        var h = g.Node1("Conv", [x, Param(g, "w1", [3, 2, 3, 3], 1), Param(g, "b1", [3], 2)], [Attr.Ints("pads", [1, 1, 1, 1])]);
        h = g.Node1("BatchNormalization", [h, Param(g, "gamma", [3], 3), Param(g, "beta", [3], 4), Param(g, "mean", [3], 5, 0.2f), Param(g, "var", [3], 6, 0.2f, 1f)]);
        h = g.Node1("Relu", [h]);
        h = g.Node1("MaxPool", [h], [Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2])]);
        var pooled = g.Node1("GlobalAveragePool", [h]);
        h = g.Node1("Flatten", [g.Node1("Mul", [h, pooled])]);
        h = g.Node1("Gemm", [h, Param(g, "w2", [27, 4], 7), Param(g, "b2", [4], 8)]);
        g.AddOutput(g.Node1("LogSoftmax", [h]));
        var data = Reference.Random(3 * 2 * 6 * 6, 9);
        var inputs = new Dictionary<string, global::Onnx.TensorProto> { ["x"] = Tensors.Create("x", data, 3, 2, 6, 6) };
        var result = GradientTesting.Run(g.ToModel(), inputs, new GradCheckOptions());
        Assert.All(result.Parameters, p => Assert.False(p.Sampled));
        Assert.Equal(8, result.Parameters.Count);
        Assert.True(result.Passed, result.ToString());
        OnnxChecker.Check(result.GradientModel);
    }
}
