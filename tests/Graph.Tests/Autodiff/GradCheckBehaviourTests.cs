using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using static NeuralService.Graph.Tests.Support.GradientTesting;

namespace NeuralService.Graph.Tests.Autodiff;

/// <summary>What GradCheck itself promises: every element of small tensors, sampling said out loud, per-element errors,
/// inputs as well as parameters, kinks reported rather than judged, and a clear error without PyTorch.</summary>
public sealed class GradCheckBehaviourTests
{
    private static global::Onnx.ModelProto Model(Func<GraphBuilder, Value> build)
    {
        var g = new GraphBuilder();
        g.AddOutput(build(g));
        return g.ToModel();
    }

    [SkippableFact]
    public void SmallTensorsAreCheckedWhole_BigOnesSampledAndSaidSo()
    {
        var model = Model(g => g.Op("MatMul", Param(g, "a", [3, 4], 1), Param(g, "b", [4, 100], 2)));
        var result = GradientTesting.Run(model, null, new GradCheckOptions { MaxElementsPerTensor = 64 });
        Assert.True(result.Passed, result.ToString());
        var a = result.Parameters.Single(p => p.Name == "p_a");
        var b = result.Parameters.Single(p => p.Name == "p_b");
        Assert.Equal(Enumerable.Range(0, 12), a.Indices);
        Assert.False(a.Sampled);
        Assert.Contains("all 12 elements", a.ToString());
        Assert.True(b.Sampled);
        Assert.Equal(64, b.Indices.Distinct().Count());
        Assert.Contains("64 of 400 elements (sampled)", b.ToString());
    }

    /// <summary>An error is judged against its own element, not against the model's largest gradient: a 0.1% error in
    /// gradients ~1e-3 next to gradients ~1e3 fails.</summary>
    [SkippableFact]
    public void ErrorsAreRelativeToEachElement()
    {
        var model = Model(g =>
        {
            var k = g.Constant(Tensors.Create("k", [1000f, 1000f, 1000f], 3), "k");
            return g.Op("Concat", [g.Op("Mul", Param(g, "a", [3], 1), k), g.Op("Div", Param(g, "b", [3], 2), k)], Attr.Int("axis", 0));
        });
        var exact = GradientTesting.Run(model, null, new GradCheckOptions());
        Assert.True(exact.Passed, exact.ToString());
        var wrong = GradientTesting.Run(model, null, new GradCheckOptions
        {
            Gradients = new GradientOptions { Mutation = new GradientMutation("Div", GradientMutationKind.Scale, Factor: 1.001) },
        });
        Assert.False(wrong.Passed);
        Assert.True(wrong.Parameters.Single(p => p.Name == "p_a").Passed);
        var b = wrong.Parameters.Single(p => p.Name == "p_b");
        Assert.False(b.Passed);
        Assert.All(b.Numeric, n => Assert.InRange(Math.Abs(n), 1e-5, 1e-3));
        Assert.InRange(b.MaxRelativeError, 9e-4, 1.1e-3);
    }

    [SkippableFact]
    public void InputsAreCheckedOnRequest()
    {
        var model = Model(g => g.Op("Softmax", g.AddInput("x", Float, Shape.Of(2, 5))));
        Assert.Throws<GraphException>(() => GradCheck.Run(model));
        var result = GradientTesting.Run(model, null, new GradCheckOptions { Wrt = GradCheckWrt.Inputs });
        Assert.True(result.Passed, result.ToString());
        Assert.Equal("x", result.Parameters.Single().Name);
        Assert.Equal(10, result.Parameters.Single().CheckedElements);
    }

    /// <summary>x = 5e-5 sits within ±2h of ReLU's kink: its finite differences mix both slopes, so it is reported as
    /// skipped; the other elements are judged.</summary>
    [SkippableFact]
    public void ElementsAtAKinkAreReportedNotJudged()
    {
        var model = Model(g => g.Op("Relu", g.Constant(Tensors.Create("x", [5e-5f, 0.5f, -0.7f, 0.2f], 4), "p_x")));
        var result = GradientTesting.Run(model, null, new GradCheckOptions());
        var x = result.Parameters.Single();
        Assert.Equal([true, false, false, false], x.NonSmooth);
        Assert.True(result.Passed, result.ToString());
        Assert.Contains("1 at a kink skipped", x.ToString());
    }

    /// <summary>Conv has no float64 kernel in ONNX Runtime: the check goes to the PyTorch reference, and without a
    /// usable Python it says what to install instead of falling back to float32.</summary>
    [SkippableFact]
    public void WithoutPyTorchTheCheckSaysSo()
    {
        var model = Model(g => g.Op("Conv", Param(g, "x", [1, 1, 4, 4], 1), Param(g, "w", [1, 1, 2, 2], 2)));
        var e = Assert.Throws<GradCheckUnavailableException>(() =>
            GradCheck.Run(model, null, new GradCheckOptions { ReferencePython = "/nonexistent/python3" }));
        Assert.Contains("python3-torch", e.Message);
        var result = GradientTesting.Run(model, null, new GradCheckOptions());
        Assert.Equal(GradCheckBackend.PyTorch, result.Backend);
        Assert.True(result.Passed, result.ToString());
    }
}
