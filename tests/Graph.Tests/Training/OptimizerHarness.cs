using NeuralService.Graph.Core;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Training;

/// <summary>Builds an optimizer's update graph for three parameters (two small ones, updated as one flat vector, and
/// one above <see cref="OptimizerGraph.FuseUpTo"/>, updated on its own) whose gradients are graph inputs (no autodiff), runs it
/// for several steps in ONNX Runtime feeding new parameters and state back as inputs, and compares every step with
/// <see cref="OptimizerReference"/>.</summary>
internal static class OptimizerHarness
{
    private static readonly long[][] Shapes = [[3, 2], [4], [257, 256]];

    public static global::Onnx.ModelProto Build(OptimizerSpec spec, out OptimizerUpdate update)
    {
        var g = new GraphBuilder();
        var ps = Shapes.Select((s, i) => g.AddInput($"p{i}", DataType.Float, Shape.Of(s))).ToList();
        var gs = Shapes.Select((s, i) => g.AddInput($"g{i}", DataType.Float, Shape.Of(s))).ToList();
        var (lr, step) = OptimizerGraph.AddStepInputs(g);
        update = OptimizerGraph.Emit(g, spec, ps, gs, lr, step);
        for (var i = 0; i < ps.Count; i++) g.AddOutput(update.NewParameters[i], OptimizerGraph.NewName(ps[i].Name));
        foreach (var s in update.State) g.AddOutput(s.NewValue, s.Output);
        return g.ToModel("update");
    }

    /// <summary>Runs <paramref name="steps"/> steps with a fixed gradient sequence (scaled by <paramref name="gradScale"/>)
    /// and a learning rate that changes every step, asserting |ORT − reference| ≤ 1e-6 at every step.</summary>
    public static void AssertMatchesKeras(OptimizerSpec spec, int steps = 10, float gradScale = 1f, bool check = false)
    {
        var model = Build(spec, out var update);
        if (check) OnnxChecker.Check(model);
        var sizes = Shapes.Select(s => (int)s.Aggregate(1L, (a, b) => a * b)).ToArray();
        var dims = Shapes.Select(s => s.Select(d => (int)d).ToArray()).ToArray();
        var p = sizes.Select((n, i) => Reference.Random(n, 100 + i, 0.5f)).ToArray();
        var reference = new OptimizerReference(spec, p.Select(a => a.Select(v => (double)v).ToArray()).ToList());
        var state = update.State.ToDictionary(s => s.Input, s =>
            Enumerable.Repeat((float)s.Initial, (int)s.Shape.Aggregate(1L, (a, b) => a * b)).ToArray());
        using var session = new OrtSession(model);
        for (var k = 0; k < steps; k++)
        {
            var grads = sizes.Select((n, i) => Reference.Random(n, 1000 * k + i, gradScale)).ToArray();
            var lr = (float)(spec.LearningRate * (1 + 0.1 * k)); // a schedule: lr is an input, not baked in
            var feeds = new List<Feed> { Feed.Scalar("lr", lr), Feed.Scalar("step", (long)k) };
            for (var i = 0; i < p.Length; i++)
            {
                feeds.Add(Feed.F($"p{i}", p[i], dims[i]));
                feeds.Add(Feed.F($"g{i}", grads[i], dims[i]));
            }
            foreach (var s in update.State) feeds.Add(Feed.F(s.Input, state[s.Input], s.Shape.Select(d => (int)d).ToArray()));
            var outs = session.Run(feeds);
            reference.Step(grads.Select(a => a.Select(v => (double)v).ToArray()).ToList(), lr);
            for (var i = 0; i < p.Length; i++)
            {
                p[i] = outs[$"p{i}.new"];
                Reference.AssertClose(reference.Parameters[i].Select(v => (float)v).ToArray(), p[i], 1e-6, $"{spec.Name} step {k} p{i}");
            }
            foreach (var s in update.State) state[s.Input] = outs[s.Output];
        }
    }
}
