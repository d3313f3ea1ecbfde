using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using static NeuralService.Graph.Tests.Support.GradientTesting;

namespace NeuralService.Graph.Tests.Autodiff;

/// <summary>The engine: accumulation, pruning, zero gradients, broadcasting with symbolic dims, loud failures.</summary>
public sealed class GradientsTests
{
    private static Value Loss(GraphBuilder g, Value v) => g.Node1("ReduceSum", [v], [Attr.Int("keepdims", 0)]);

    [SkippableFact]
    public void ValuesUsedSeveralTimesAccumulate()
    {
        CheckAll(
            C("x·x + x", g =>
            {
                var x = Param(g, "x", [2, 3], 1);
                return g.Op("Add", g.Op("Mul", x, x), x);
            }),
            C("chain with shared weight", g =>
            {
                var w = Param(g, "w", [3, 3], 2);
                var h = g.Op("Tanh", g.Op("MatMul", Param(g, "x", [2, 3], 3), w));
                return g.Op("MatMul", h, w);
            }),
            C("non-differentiable shape path", g =>
            {
                var x = Param(g, "x", [2, 3, 2], 4);
                return g.Op("Reshape", g.Op("Sigmoid", x), g.Op("Shape", g.Op("Transpose", [x], Attr.Ints("perm", [1, 0, 2]))));
            }));
    }

    [SkippableFact]
    public void NodesOffThePathAreNotDifferentiated()
    {
        var g = new GraphBuilder();
        var x = Param(g, "x", [2, 3], 1);
        var q = Param(g, "q", [2, 3], 2);
        g.AddOutput(g.Node1("Tanh", [x], name: "unused_branch"));
        var constantSide = g.Node1("Exp", [q], name: "constant_side");
        var loss = Loss(g, g.Node1("Mul", [g.Node1("Relu", [x], name: "relu"), constantSide], name: "product"));
        var before = g.Nodes.Count;
        var grads = Gradients.Build(g, loss, [x]);
        var emitted = g.Nodes.Skip(before).Select(n => n.Name).ToList();
        Assert.Contains(emitted, n => n.StartsWith("grad/relu/", StringComparison.Ordinal));
        Assert.Contains(emitted, n => n.StartsWith("grad/product/", StringComparison.Ordinal));
        Assert.DoesNotContain(emitted, n => n.StartsWith("grad/unused_branch", StringComparison.Ordinal) || n.StartsWith("grad/constant_side", StringComparison.Ordinal));
        Assert.All(emitted, n => Assert.StartsWith("grad/", n));
        g.AddOutput(grads[x.Name], "dx");
        var model = g.ToModel();
        OnnxChecker.Check(model);
        var xs = Reference.Random(6, 1);
        var qs = Reference.Random(6, 2);
        Reference.AssertClose(xs.Select((v, i) => v > 0 ? MathF.Exp(qs[i]) : 0f).ToArray(), Ort.Run(model)["dx"].Data, 1e-5, "dx");
    }

    [SkippableFact]
    public void UnrelatedParameterGetsZeros()
    {
        var g = new GraphBuilder();
        var x = Param(g, "x", [2, 3], 1);
        var unrelated = Param(g, "u", [4], 2);
        var loss = Loss(g, g.Node1("Exp", [x]));
        var grads = Gradients.Build(g, loss, [x, unrelated]);
        Assert.Equal(unrelated.Shape, grads[unrelated.Name].Shape);
        g.AddOutput(grads[unrelated.Name], "du");
        var model = g.ToModel();
        OnnxChecker.Check(model);
        Assert.Equal(new float[4], Ort.Run(model)["du"].Data);
    }

    [SkippableFact]
    public void MissingRuleFailsWithOpTypeAndNodeName()
    {
        var g = new GraphBuilder();
        var x = Param(g, "x", [3], 1);
        var loss = Loss(g, g.Node1("ReduceProd", [x], name: "my_product"));
        var e = Assert.Throws<GraphException>(() => Gradients.Build(g, loss, [x]));
        Assert.Contains("ReduceProd", e.Message);
        Assert.Contains("my_product", e.Message);
    }

    [SkippableFact]
    public void FusedRecurrentOpsRefuseWithAClearMessage()
    {
        var g = new GraphBuilder();
        var x = Param(g, "x", [2, 1, 3], 1);
        var w = Param(g, "w", [1, 16, 3], 2);
        var r = Param(g, "r", [1, 16, 4], 3);
        var y = g.Node1("LSTM", [x, w, r], [Attr.Int("hidden_size", 4)], name: "lstm");
        var e = Assert.Throws<GraphException>(() => Gradients.Build(g, Loss(g, y), [w]));
        Assert.Contains("LSTM", e.Message);
        Assert.Contains("lstm", e.Message);
        Assert.Contains("decomposed", e.Message);
    }

    [SkippableFact]
    public void NonScalarLossIsRejected()
    {
        var g = new GraphBuilder();
        var x = Param(g, "x", [3], 1);
        Assert.Throws<GraphException>(() => Gradients.Build(g, g.Node1("Exp", [x]), [x]));
    }

    /// <summary>A symbolic batch against a bias is reduced statically; an input whose dim is unknown until run time
    /// (1 or the batch) goes through the Shape-based fallback.</summary>
    [SkippableFact]
    public void BroadcastingWithSymbolicDims()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", GradientTesting.Float, Shape.Of(Dim.Batch, 3));
        var a = g.AddInput("a", GradientTesting.Float, Shape.Of(Dim.Unknown, 3));
        var b = Param(g, "b", [3], 1);
        var loss = Loss(g, g.Node1("Mul", [g.Node1("Add", [x, b]), a]));
        var grads = Gradients.Build(g, loss, [a, b]);
        g.AddOutput(grads[a.Name], "da");
        g.AddOutput(grads[b.Name], "db");
        var model = g.ToModel();
        OnnxChecker.Check(model);
        var xs = Reference.Random(12, 2);
        var bs = Reference.Random(3, 1);
        var rowA = Reference.Random(3, 3);
        var fullA = Reference.Random(12, 4);
        // a broadcast over the batch: da sums x + b over rows; db sums a over rows.
        var outs = Ort.Run(model, ("x", xs, [4, 3]), ("a", rowA, [1, 3]));
        Assert.Equal([1, 3], outs["da"].Dims);
        Reference.AssertClose(Enumerable.Range(0, 3).Select(j => Enumerable.Range(0, 4).Sum(i => xs[i * 3 + j] + bs[j])).ToArray(), outs["da"].Data, 1e-5, "da");
        Reference.AssertClose(rowA.Select(v => 4 * v).ToArray(), outs["db"].Data, 1e-5, "db");
        // a full size: da = x + b elementwise.
        outs = Ort.Run(model, ("x", xs, [4, 3]), ("a", fullA, [4, 3]));
        Assert.Equal([4, 3], outs["da"].Dims);
        Reference.AssertClose(xs.Select((v, i) => v + bs[i % 3]).ToArray(), outs["da"].Data, 1e-5, "da");
    }
}
