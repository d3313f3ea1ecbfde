using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using static NeuralService.Graph.Tests.Support.GradientTesting;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Core;

/// <summary><see cref="GraphBuilder.PoolBeforeRelu"/>: MaxPool(Relu(x)) emitted as Relu(MaxPool(x)) in training graphs.</summary>
public sealed class PoolBeforeReluTests
{
    /// <summary>x → Conv → Relu → MaxPool (2×2 tiling, leftover row and column) → loss, with the gradients of x and the
    /// kernel as outputs.</summary>
    private static (GraphBuilder G, Value Pooled) ConvReluPool(bool poolBeforeRelu, bool secondReader = false)
    {
        var g = new GraphBuilder { PoolBeforeRelu = poolBeforeRelu };
        var x = g.AddInput("x", DataType.Float, Shape.Of(2, 3, 7, 7));
        var w = Param(g, "w", [4, 3, 3, 3], 2);
        var conv = g.Node1("Conv", [x, w]);
        var relu = g.Node1("Relu", [conv]);
        var pooled = g.Node1("MaxPool", [relu], [Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2])]);
        var loss = g.Node1("ReduceSum", [g.Node1("Mul", [pooled, Param(g, "projection", [2, 4, 2, 2], 3)])], [Attr.Int("keepdims", 0)]);
        if (secondReader) loss = g.Node1("Add", [loss, g.Node1("ReduceSum", [relu], [Attr.Int("keepdims", 0)])]);
        var grads = Gradients.Build(g, loss, [x, w]);
        g.AddOutput(loss, "loss");
        g.AddOutput(grads["x"], "dx");
        g.AddOutput(grads[w.Name], "dw");
        return (g, pooled);
    }

    [Fact]
    public void TheReluMovesAfterThePoolAndTheOldOneIsDropped()
    {
        var (g, pooled) = ConvReluPool(true);
        Assert.Equal("Relu", g.Nodes.Single(n => n.Output.Contains(pooled.Name)).OpType);
        var forward = g.ToModel().Graph.Node.Where(n => !n.Name.StartsWith("grad/", StringComparison.Ordinal)).Select(n => n.OpType).ToList();
        Assert.Equal(["Conv", "MaxPool", "Relu"], forward.Where(o => o is "Conv" or "MaxPool" or "Relu"));
        // A second reader of the activation keeps the first ReLU.
        var (both, _) = ConvReluPool(true, secondReader: true);
        Assert.Equal(2, both.ToModel().Graph.Node.Count(n => n.OpType == "Relu" && !n.Name.StartsWith("grad/", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ValuesAndGradientsAreThoseOfTheOriginalOrder(bool secondReader)
    {
        // Half the pre-activations negative: windows of all-zero activations (tied maxima) and mixed ones.
        var x = Reference.Random(2 * 3 * 7 * 7, 11);
        var original = Ort.Run(ConvReluPool(false, secondReader).G.ToModel(), ("x", x, [2, 3, 7, 7]));
        var commuted = Ort.Run(ConvReluPool(true, secondReader).G.ToModel(), ("x", x, [2, 3, 7, 7]));
        foreach (var name in new[] { "loss", "dx", "dw" })
            Reference.AssertClose(original[name].Data, commuted[name].Data, 1e-5);
    }

    [SkippableFact]
    public void TheCommutedGraphPassesFiniteDifferences()
    {
        var g = new GraphBuilder { PoolBeforeRelu = true };
        var x = Param(g, "x", [2, 2, 6, 6], 5);
        var w = Param(g, "w", [3, 2, 3, 3], 6);
        var relu = g.Node1("Relu", [g.Node1("Conv", [x, w])]);
        g.AddOutput(g.Node1("MaxPool", [relu], [Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2])]));
        var model = g.ToModel();
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "Relu" && n.Input[0] == model.Graph.Node.Single(c => c.OpType == "Conv").Output[0]);
        var result = Run(model, null, new GradCheckOptions { Parameters = [x.Name, w.Name] });
        Assert.True(result.Passed, result.ToString());
    }
}
