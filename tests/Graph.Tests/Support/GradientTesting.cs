using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Support;

/// <summary>Finite-difference checks of gradient rules: a small forward graph whose operands are initializers is checked by
/// <see cref="GradCheck"/> (loss = Σ output ⊙ random projection, central differences in float64 where ONNX Runtime
/// has double kernels), and every emitted gradient graph must pass the ONNX checker with only domain "" nodes.</summary>
public static class GradientTesting
{
    /// <summary>One forward graph: <c>build</c> adds initializers with <see cref="Param"/> and returns the outputs.</summary>
    public sealed record Case(string Name, Func<GraphBuilder, IReadOnlyList<Value>> Build, double? Tolerance = null);

    public static Case C(string name, Func<GraphBuilder, Value> build, double? tolerance = null) => new(name, g => [build(g)], tolerance);

    public const string ParamPrefix = "p_";

    /// <summary>A float initializer of uniform values in offset ± scale.</summary>
    public static Value Param(GraphBuilder g, string name, long[] dims, int seed, float scale = 1f, float offset = 0f)
    {
        var n = (int)dims.Aggregate(1L, (p, d) => p * d);
        var data = Reference.Random(n, seed, scale).Select(v => v + offset).ToArray();
        return g.Constant(Tensors.Create(name, data, dims), ParamPrefix + name);
    }

    /// <summary>Runs every case, asserts each passes, and checks all gradient graphs in one checker call.</summary>
    public static IReadOnlyList<GradCheckResult> CheckAll(params Case[] cases) => CheckAll(GradientOptions.Default, cases);

    public static IReadOnlyList<GradCheckResult> CheckAll(GradientOptions gradientOptions, params Case[] cases)
    {
        var results = Run(cases.Select(c => Request(c, new GradCheckOptions { Tolerance = c.Tolerance ?? GradCheckOptions.DefaultTolerance, Gradients = gradientOptions })).ToList());
        var failures = new List<string>();
        for (var i = 0; i < cases.Length; i++)
        {
            var result = results[i];
            if (!result.Passed) failures.Add($"{cases[i].Name}: {result}");
            var foreign = result.GradientModel.Graph.Node.Where(n => n.Domain.Length > 0).Select(n => n.Describe()).ToList();
            if (foreign.Count > 0) failures.Add($"{cases[i].Name}: non-standard nodes {string.Join(", ", foreign)}");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        OnnxChecker.Check(results.Select(r => r.GradientModel).ToArray());
        return results;
    }

    /// <summary>The case's model with its <see cref="Param"/> initializers as the checked parameters.</summary>
    public static GradCheckRequest Request(Case c, GradCheckOptions options)
    {
        var g = new GraphBuilder();
        var outputs = c.Build(g);
        foreach (var o in outputs) g.AddOutput(o);
        var parameters = g.InitializerValues.Select(v => v.Name).Where(n => n.StartsWith(ParamPrefix, StringComparison.Ordinal)).ToList();
        return new GradCheckRequest(g.ToModel(), null, options with { Parameters = parameters });
    }

    /// <summary><see cref="GradCheck.RunMany"/>, skipping the test (SkippableFact) where the PyTorch reference is missing.</summary>
    public static IReadOnlyList<GradCheckResult> Run(IReadOnlyList<GradCheckRequest> requests)
    {
        try
        {
            return GradCheck.RunMany(requests);
        }
        catch (GradCheckUnavailableException e)
        {
            throw new SkipException(e.Message);
        }
    }

    public static GradCheckResult Run(ModelProto model, IReadOnlyDictionary<string, TensorProto>? inputs, GradCheckOptions options) =>
        Run([new GradCheckRequest(model, inputs, options)])[0];

    /// <summary>Outputs y and the gradients of loss = Σ y·cos(y) (a loss whose gradient varies with y) for each of
    /// <paramref name="wrt"/>, as <c>y</c> and <c>d_{name}</c>.</summary>
    public static void OutputWithGradients(GraphBuilder g, Value y, IReadOnlyList<Value> wrt)
    {
        var loss = g.Node1("ReduceSum", [g.Mul(y, g.Node1("Cos", [y]))], [Attr.Int("keepdims", 0)]);
        var grads = Gradients.Build(g, loss, wrt);
        g.AddOutput(y, "y");
        foreach (var v in wrt) g.AddOutput(grads[v.Name], "d_" + v.Name.Replace('/', '_'));
    }

    public static Value Op(this GraphBuilder g, string op, params Value?[] inputs) => g.Node1(op, inputs);
    public static Value Op(this GraphBuilder g, string op, Value?[] inputs, params AttributeProto[] attributes) => g.Node1(op, inputs, attributes);
    public static DataType Float => DataType.Float;
}
