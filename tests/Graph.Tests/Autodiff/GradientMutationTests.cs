using System.Reflection;
using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Ops;
using NeuralService.Graph.Tests.Support;
using Xunit.Abstractions;
using static NeuralService.Graph.Tests.Support.GradientTesting;

namespace NeuralService.Graph.Tests.Autodiff;

/// <summary>The gradient checker is itself checked: every op type with a gradient rule, on a small model that exercises
/// it, passes unmutated, and each deliberate error in its rule (gradients × 1.01, one input's gradient zeroed, two
/// inputs' gradients swapped) that changes the computed gradient at all is rejected.</summary>
public sealed class GradientMutationTests(ITestOutputHelper output)
{
    private static Value Const(GraphBuilder g, string name, long[] values, params long[] dims) =>
        g.Constant(Tensors.Create(name, values, dims), name);

    private static Value P(GraphBuilder g, string name, long[] dims, int seed, float scale = 1f, float offset = 0f) =>
        Param(g, name, dims, seed, scale, offset);

    /// <summary>One small model per op type with a gradient rule; its parameters are the op's differentiable inputs.</summary>
    public static readonly IReadOnlyDictionary<string, Func<GraphBuilder, Value>> Models = new Dictionary<string, Func<GraphBuilder, Value>>
    {
        ["Add"] = g => g.Op("Add", P(g, "a", [2, 3], 1), P(g, "b", [3], 2)),
        ["Sub"] = g => g.Op("Sub", P(g, "a", [2, 3], 1), P(g, "b", [2, 3], 2)),
        ["Mul"] = g => g.Op("Mul", P(g, "a", [2, 3], 1), P(g, "b", [2, 3], 2)),
        ["Div"] = g => g.Op("Div", P(g, "a", [2, 3], 1), P(g, "b", [2, 3], 2, 0.5f, 2f)),
        ["Pow"] = g => g.Op("Pow", P(g, "a", [2, 3], 1, 0.5f, 1.5f), P(g, "b", [2, 3], 2, 1f, 1f)),
        ["Sum"] = g => g.Op("Sum", P(g, "a", [2, 3], 1), P(g, "b", [3], 2), P(g, "c", [2, 3], 3)),
        ["Mean"] = g => g.Op("Mean", P(g, "a", [2, 3], 1), P(g, "b", [2, 3], 2)),
        ["Max"] = g => g.Op("Max", P(g, "a", [2, 3], 1), P(g, "b", [2, 3], 2)),
        ["Min"] = g => g.Op("Min", P(g, "a", [2, 3], 1), P(g, "b", [2, 3], 2)),
        ["PRelu"] = g => g.Op("PRelu", P(g, "x", [2, 3], 1), P(g, "slope", [3], 2, 0.3f, 0.5f)),
        ["Neg"] = g => g.Op("Neg", P(g, "x", [2, 3], 1)),
        ["Abs"] = g => g.Op("Abs", P(g, "x", [2, 3], 1)),
        ["Exp"] = g => g.Op("Exp", P(g, "x", [2, 3], 1)),
        ["Log"] = g => g.Op("Log", P(g, "x", [2, 3], 1, 0.5f, 1.5f)),
        ["Sqrt"] = g => g.Op("Sqrt", P(g, "x", [2, 3], 1, 0.5f, 1.5f)),
        ["Reciprocal"] = g => g.Op("Reciprocal", P(g, "x", [2, 3], 1, 0.5f, 1.5f)),
        ["Tanh"] = g => g.Op("Tanh", P(g, "x", [2, 3], 1)),
        ["Sin"] = g => g.Op("Sin", P(g, "x", [2, 3], 1, 3f)),
        ["Cos"] = g => g.Op("Cos", P(g, "x", [2, 3], 1, 3f)),
        ["HardSwish"] = g => g.Op("HardSwish", P(g, "x", [3, 4], 1, 5f)),
        ["Sigmoid"] = g => g.Op("Sigmoid", P(g, "x", [2, 3], 1, 3f)),
        ["HardSigmoid"] = g => g.Op("HardSigmoid", P(g, "x", [3, 4], 1, 4f)),
        ["Relu"] = g => g.Op("Relu", P(g, "x", [3, 4], 1)),
        ["LeakyRelu"] = g => g.Op("LeakyRelu", [P(g, "x", [3, 4], 1)], Attr.Float("alpha", 0.3f)),
        ["Elu"] = g => g.Op("Elu", [P(g, "x", [3, 4], 1, 2f)], Attr.Float("alpha", 0.7f)),
        ["Selu"] = g => g.Op("Selu", P(g, "x", [3, 4], 1, 2f)),
        ["Softplus"] = g => g.Op("Softplus", P(g, "x", [2, 3], 1, 3f)),
        ["Softsign"] = g => g.Op("Softsign", P(g, "x", [2, 3], 1, 3f)),
        ["Erf"] = g => g.Op("Erf", P(g, "x", [2, 3], 1, 2f)),
        ["Identity"] = g => g.Op("Identity", P(g, "x", [2, 3], 1)),
        ["Softmax"] = g => g.Op("Softmax", [P(g, "x", [2, 3, 4], 1, 2f)], Attr.Int("axis", 1)),
        ["LogSoftmax"] = g => g.Op("LogSoftmax", P(g, "x", [3, 4], 1, 2f)),
        ["Clip"] = g => g.Op("Clip", P(g, "x", [3, 4], 1), g.Scalar(-0.5, Float), g.Scalar(0.6, Float)),
        ["CumSum"] = g => g.Op("CumSum", [P(g, "x", [2, 4], 1), g.ScalarLong(1)], Attr.Int("exclusive", 1)),
        ["Dropout"] = g => g.Op("Dropout", P(g, "x", [2, 3], 1)),
        ["Cast"] = g => g.Op("Cast", [P(g, "x", [2, 3], 1)], Attr.Int("to", (long)Float)),
        ["Where"] = g => g.Op("Where", g.Constant(Tensors.Create("c", [true, false, true, false, false, true], 2, 3), "c"), P(g, "a", [2, 3], 1), P(g, "b", [2, 3], 2)),
        ["MatMul"] = g => g.Op("MatMul", P(g, "a", [2, 3], 1), P(g, "b", [3, 4], 2)),
        ["Gemm"] = g => g.Op("Gemm", [P(g, "a", [3, 2], 1), P(g, "b", [4, 3], 2), P(g, "c", [4], 3)],
            Attr.Int("transA", 1), Attr.Int("transB", 1), Attr.Float("alpha", 0.7f), Attr.Float("beta", 1.3f)),
        ["Einsum"] = g => g.Op("Einsum", [P(g, "a", [2, 3], 1), P(g, "b", [3, 4], 2)], Attr.String("equation", "ij,jk->ik")),
        ["Conv"] = g => g.Op("Conv", [P(g, "x", [1, 2, 5, 5], 1), P(g, "w", [3, 2, 3, 3], 2), P(g, "b", [3], 3)],
            Attr.Ints("strides", [2, 1]), Attr.Ints("pads", [1, 0, 0, 1])),
        ["ConvTranspose"] = g => g.Op("ConvTranspose", [P(g, "x", [1, 2, 3, 3], 1), P(g, "w", [2, 3, 2, 2], 2), P(g, "b", [3], 3)],
            Attr.Ints("strides", [2, 1])),
        ["MaxPool"] = g => g.Op("MaxPool", [P(g, "x", [1, 2, 4, 4], 1)], Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [1, 2])),
        ["AveragePool"] = g => g.Op("AveragePool", [P(g, "x", [1, 2, 5, 5], 1)], Attr.Ints("kernel_shape", [3, 3]), Attr.Ints("strides", [2, 2]), Attr.Ints("pads", [1, 1, 1, 1])),
        ["GlobalAveragePool"] = g => g.Op("GlobalAveragePool", P(g, "x", [2, 3, 2, 2], 1)),
        ["GlobalMaxPool"] = g => g.Op("GlobalMaxPool", P(g, "x", [2, 3, 2, 2], 1)),
        ["BatchNormalization"] = g => g.Op("BatchNormalization", P(g, "x", [2, 3, 4], 1), P(g, "scale", [3], 2), P(g, "b", [3], 3),
            P(g, "mean", [3], 4, 0.2f), P(g, "var", [3], 5, 0.2f, 1f)),
        ["InstanceNormalization"] = g => g.Op("InstanceNormalization", P(g, "x", [2, 3, 4], 1), P(g, "scale", [3], 2), P(g, "b", [3], 3)),
        ["LayerNormalization"] = g => g.Op("LayerNormalization", P(g, "x", [2, 3, 4], 1), P(g, "scale", [4], 2), P(g, "b", [4], 3)),
        ["ReduceSum"] = g => g.Op("ReduceSum", P(g, "x", [2, 3, 4], 1), g.Ints(1)),
        ["ReduceMean"] = g => g.Op("ReduceMean", [P(g, "x", [2, 3, 4], 1)], Attr.Ints("axes", [2])),
        ["ReduceMax"] = g => g.Op("ReduceMax", [P(g, "x", [2, 3, 4], 1)], Attr.Ints("axes", [1])),
        ["ReduceMin"] = g => g.Op("ReduceMin", [P(g, "x", [2, 3, 4], 1)], Attr.Ints("axes", [2])),
        ["ReduceL1"] = g => g.Op("ReduceL1", [P(g, "x", [2, 3, 4], 1)], Attr.Ints("axes", [1])),
        ["ReduceL2"] = g => g.Op("ReduceL2", [P(g, "x", [2, 3, 4], 1)], Attr.Ints("axes", [0, 2])),
        ["ReduceSumSquare"] = g => g.Op("ReduceSumSquare", [P(g, "x", [2, 3, 4], 1)], Attr.Ints("axes", [2]), Attr.Int("keepdims", 0)),
        ["ReduceLogSumExp"] = g => g.Op("ReduceLogSumExp", [P(g, "x", [2, 3, 4], 1, 2f)], Attr.Ints("axes", [1])),
        ["Reshape"] = g => g.Op("Reshape", P(g, "x", [2, 3, 4], 1), g.Ints(4, -1)),
        ["Flatten"] = g => g.Op("Flatten", [P(g, "x", [2, 3, 4], 1)], Attr.Int("axis", 2)),
        ["Transpose"] = g => g.Op("Transpose", [P(g, "x", [2, 3, 4], 1)], Attr.Ints("perm", [2, 0, 1])),
        ["Squeeze"] = g => g.Op("Squeeze", P(g, "x", [2, 1, 3], 1), g.Ints(1)),
        ["Unsqueeze"] = g => g.Op("Unsqueeze", P(g, "x", [2, 3], 1), g.Ints(0, 3)),
        ["Concat"] = g => g.Op("Concat", [P(g, "a", [2, 3], 1), P(g, "b", [2, 3], 2)], Attr.Int("axis", 1)),
        ["Split"] = g =>
        {
            var halves = g.Node("Split", [P(g, "x", [4, 3], 1)], [Attr.Int("axis", 0)], 2);
            return g.Op("Sub", halves[0], halves[1]);
        },
        ["Slice"] = g => g.Op("Slice", P(g, "x", [6, 5], 1), g.Ints(5, 0), g.Ints(0, 5), g.Ints(0, 1), g.Ints(-2, 2)),
        ["Gather"] = g => g.Op("Gather", P(g, "x", [5, 3], 1), Const(g, "i", [0L, 3, 3, -1], 2, 2)),
        ["GatherElements"] = g => g.Op("GatherElements", [P(g, "x", [3, 4], 1), Const(g, "i", [1L, 1, 3, 0, 2, 2], 3, 2)], Attr.Int("axis", 1)),
        ["Expand"] = g => g.Op("Expand", P(g, "x", [3, 1], 1), g.Ints(2, 3, 4)),
        ["Tile"] = g => g.Op("Tile", P(g, "x", [2, 3], 1), g.Ints(2, 3)),
        ["Resize"] = g => g.Node1("Resize", [P(g, "x", [1, 2, 3, 4], 1), null, g.Constant([1f, 1, 1.5f, 0.75f], [4], "scales")],
            [Attr.String("mode", "linear"), Attr.String("coordinate_transformation_mode", "half_pixel")]),
        // One state and one scan input; the body also reads the outer weight w (its gradient comes back as an implicit input's).
        ["Scan"] = g =>
        {
            var w = P(g, "w", [3, 3], 3, 0.6f);
            var r = ControlFlow.Scan(g, [P(g, "h0", [2, 3], 1)], [new ScanInput(P(g, "xs", [4, 2, 3], 2))], [new ScanOutput()],
                (bg, state, x) =>
                {
                    var h = bg.Op("Tanh", bg.Op("Add", bg.Op("MatMul", state[0], w), x[0]));
                    return new ScanStep([h], [bg.Op("Mul", h, x[0])]);
                });
            return g.Op("Add", r[1], r[0]);
        },
        ["Pad"] = g => g.Op("Pad", [P(g, "x", [3, 4], 1), g.Ints(1, 0, 2, 2)], Attr.String("mode", "reflect")),
    };

    /// <summary>Op types whose rule returns gradients (the fused recurrent ops' rule is an error message).</summary>
    public static IReadOnlyList<string> OpsWithGradientRules() => OpRegistry.All
        .Where(op => op.GetType().GetMethod(nameof(Op.Gradient), BindingFlags.Public | BindingFlags.Instance)!.DeclaringType != typeof(Op))
        .Where(op => op is not FusedRecurrentOp)
        .Select(op => op.Type).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public void EveryOpWithAGradientRuleHasAModel()
    {
        var missing = OpsWithGradientRules().Where(op => !Models.ContainsKey(op)).ToList();
        Assert.True(missing.Count == 0, $"add a small model to {nameof(GradientMutationTests)}.{nameof(Models)} for: {string.Join(", ", missing)}");
    }

    private static IEnumerable<GradientMutation> Mutations(string op, int inputs)
    {
        yield return new GradientMutation(op, GradientMutationKind.Scale) { SkipNodePrefix = "gradcheck/" };
        for (var i = 0; i < inputs; i++)
            yield return new GradientMutation(op, GradientMutationKind.Zero, i) { SkipNodePrefix = "gradcheck/" };
        for (var i = 0; i < inputs; i++)
            for (var j = i + 1; j < inputs; j++)
                yield return new GradientMutation(op, GradientMutationKind.Swap, i, j) { SkipNodePrefix = "gradcheck/" };
    }

    [SkippableFact]
    public void EveryRulePassesAndEveryMutationIsCaught()
    {
        var ops = OpsWithGradientRules().Where(Models.ContainsKey).ToList();
        var runs = new List<(string Op, GradientMutation? Mutation, GradCheckRequest Request)>();
        foreach (var op in ops)
        {
            var model = Request(new Case(op, g => [Models[op](g)]), new GradCheckOptions()).Model;
            var inputs = model.Graph.Node.Where(n => n.OpType == op).Max(n => n.Input.Count);
            runs.Add((op, null, Request(new Case(op, g => [Models[op](g)]), new GradCheckOptions())));
            foreach (var m in Mutations(op, inputs))
                runs.Add((op, m, Request(new Case(op, g => [Models[op](g)]), new GradCheckOptions { Gradients = new GradientOptions { Mutation = m } })));
        }
        var results = GradientTesting.Run(runs.Select(r => r.Request).ToList());

        var problems = new List<string>();
        var caught = 0;
        var noEffect = 0;
        foreach (var op in ops)
        {
            var indices = Enumerable.Range(0, runs.Count).Where(i => runs[i].Op == op).ToList();
            var baseline = results[indices[0]];
            if (!baseline.Passed) problems.Add($"{op} unmutated: {baseline}");
            foreach (var i in indices.Skip(1))
            {
                var (_, mutation, _) = runs[i];
                var result = results[i];
                // A mutation that leaves every gradient as it was (swapping two equal gradients, zeroing a gradient that is
                // zero or belongs to a constant) is not an error the checker could or should see.
                var changed = result.Parameters.Zip(baseline.Parameters).Any(pair =>
                    pair.First.Analytic.Zip(pair.Second.Analytic).Any(v => Math.Abs(v.First - v.Second) > 1e-9 * Math.Max(1, Math.Abs(v.Second))));
                if (!changed)
                {
                    noEffect++;
                    if (mutation!.Kind == GradientMutationKind.Scale) problems.Add($"{mutation}: the hook had no effect (the model does not exercise the rule)");
                    continue;
                }
                if (result.Passed) problems.Add($"{mutation} was NOT caught: {result}");
                else caught++;
            }
        }
        output.WriteLine($"{ops.Count} op types, {runs.Count - ops.Count} mutations: {caught} caught, {noEffect} without effect; " +
            $"{results.Count(r => r.Backend == GradCheckBackend.PyTorch)} checks on the PyTorch reference");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>The PyTorch reference evaluator agrees with ONNX Runtime's float64 kernels: every model (forward and gradient
    /// graph) checked on it passes too.</summary>
    [SkippableFact]
    public void PyTorchReferencePassesEveryRule()
    {
        var ops = OpsWithGradientRules().Where(Models.ContainsKey).ToList();
        var results = GradientTesting.Run(ops.Select(op => Request(new Case(op, g => [Models[op](g)]), new GradCheckOptions { ForcePyTorch = true })).ToList());
        Assert.All(results, r => Assert.Equal(GradCheckBackend.PyTorch, r.Backend));
        var failures = ops.Zip(results).Where(p => !p.Second.Passed).Select(p => $"{p.First}: {p.Second}").ToList();
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }
}
