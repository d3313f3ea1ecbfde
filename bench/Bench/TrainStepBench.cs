using System.Text.Json;
using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training.Execution;

namespace NeuralService.Bench;

/// <summary>Seed CNN train step, samples/s: the compiled step (Keras JSON spec → layers → autodiff → Adam) against
/// the same step written by hand in plain ONNX ops, alternating rounds in one process so both see the same machine.</summary>
public static class TrainStepBench
{
    /// <summary>Largest |loss difference| allowed between the compiled and hand-written steps over the first 3 steps
    /// from equal weights: both compute the same float32 math in a different op order (cross-entropy ≈ 2.3 here).</summary>
    public const double LossTolerance = 1e-4;

    /// <summary>Returns 1 (and prints why) when the two steps' losses disagree beyond <see cref="LossTolerance"/>.</summary>
    public static int Run(BenchOptions o)
    {
        var device = new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = o.Threads };
        var rng = new Random(1);
        var x = Enumerable.Range(0, o.Batch * 784).Select(_ => (float)rng.NextDouble()).ToArray();
        var y = Enumerable.Range(0, o.Batch).Select(_ => (long)rng.Next(10)).ToArray();

        if (o.Profile is not null) Directory.CreateDirectory(o.Profile);
        var (model, compiled) = CompiledStep(o.Batch, GradientOptions.Default);
        using var ours = Session(compiled, device, o.Profile is null ? null : Path.Combine(o.Profile, "compiled"));
        var (_, convForm) = CompiledStep(o.Batch, new GradientOptions { ConvWeightGradient = ConvWeightGradient.Conv }, model);
        using var oursConv = Session(convForm, device, o.Profile is null ? null : Path.Combine(o.Profile, "compiled-convgrad"));
        var (handModel, handSig, handInit) = HandWrittenCnnStep.Build(o.Batch);
        CopyWeights(model, handInit);
        using var hand = new StepSession(handModel, handSig, handInit, device with
        {
            EnableProfiling = o.Profile is not null, ProfilePrefix = o.Profile is null ? null : Path.Combine(o.Profile, "handwritten"),
        });

        // Same weights, same batch: both steps must follow the same loss trajectory.
        var features = compiled.Signature.Features.Single();
        var targets = compiled.Signature.Targets.Single();
        var lossDiff = 0.0;
        for (var k = 0; k < 3; k++)
        {
            ours.SetBatch(features, x, [o.Batch, 28, 28, 1]);
            ours.SetBatch(targets, y, [o.Batch]);
            ours.SetScalar(compiled.Signature.LearningRate!, 1e-3);
            ours.SetScalar(compiled.Signature.Step!, k);
            hand.SetBatch("x", x, [o.Batch, 1, 28, 28]);
            hand.SetBatch("y", y, [o.Batch]);
            hand.SetScalar("lr", 1e-3);
            hand.SetScalar("step", k + 1);
            lossDiff = Math.Max(lossDiff, Math.Abs(ours.Step()[0] - hand.Step()[0]));
        }
        Console.WriteLine($"seed CNN ({model.CountParams()} parameters, compiled graph {compiled.Model.Graph.Node.Count} nodes, hand-written {handModel.Graph.Node.Count} nodes)");
        Console.WriteLine($"max |loss difference| over 3 steps from equal weights: {lossDiff:E2} (tolerance {LossTolerance:E0})");
        if (!(lossDiff <= LossTolerance))
        {
            Console.Error.WriteLine($"error: the compiled and hand-written steps disagree: max |loss difference| {lossDiff:E2} > {LossTolerance:E0}");
            return 1;
        }

        var oursRates = new List<double>();
        var convRates = new List<double>();
        var handRates = new List<double>();
        for (var r = 0; r < o.Rounds; r++)
        {
            oursRates.Add(StepTimer.SamplesPerSecond(ours, features, x, [o.Batch, 28, 28, 1], targets, y, o.Batch, o.Steps,
                compiled.Signature.LearningRate!, compiled.Signature.Step!));
            convRates.Add(StepTimer.SamplesPerSecond(oursConv, features, x, [o.Batch, 28, 28, 1], targets, y, o.Batch, o.Steps,
                compiled.Signature.LearningRate!, compiled.Signature.Step!));
            handRates.Add(StepTimer.SamplesPerSecond(hand, "x", x, [o.Batch, 1, 28, 28], "y", y, o.Batch, o.Steps, "lr", "step"));
        }
        var (a, c, b) = (oursRates.Median(), convRates.Median(), handRates.Median());
        static string Rounds(List<double> v) => string.Join(", ", v.Select(r => r.ToString("F0")));
        Console.WriteLine($"compiled step, im2col weight grads: {a,8:F0} samples/s  (rounds: {Rounds(oursRates)})");
        Console.WriteLine($"compiled step, Conv weight grads:   {c,8:F0} samples/s  (rounds: {Rounds(convRates)})");
        Console.WriteLine($"hand-written step (Conv form):      {b,8:F0} samples/s  (rounds: {Rounds(handRates)})");
        Console.WriteLine($"ratio compiled/hand-written: im2col {a / b:F2}, Conv form {c / b:F2}  (batch {o.Batch}, {o.Threads} threads, {o.Steps} steps x {o.Rounds} rounds, CPU)");
        if (o.Profile is not null)
        {
            Profile.Summarize("compiled, im2col", ours.EndProfiling());
            Profile.Summarize("compiled, Conv form", oursConv.EndProfiling());
            Profile.Summarize("hand-written", hand.EndProfiling());
        }
        return 0;
    }

    internal static (Model, CompiledGraph) CompiledStep(int batch, GradientOptions gradients, Model? model = null)
    {
        model ??= KerasModelJson.ReadFile(Path.Combine(RepoRoot(), "onnx-models", "specs", "mnist_cnn.json"));
        return (model, TrainingGraph.Compile(model, ["sparse_categorical_crossentropy"], new Adam(),
            gradients: (g, loss, wrt) => Gradients.Build(g, loss, wrt, gradients)));
    }

    internal static StepSession Session(CompiledGraph c, DeviceOptions device, string? profile)
    {
        var sig = c.Signature;
        var state = sig.Persistent.Select(p => (p.Input, p.Output!)).ToList();
        return new StepSession(c.Model, new StepSignature([.. sig.Features, .. sig.Targets], state, [sig.LearningRate!, sig.Step!], [sig.LossOutput]),
            sig.Persistent.ToDictionary(p => p.Input, p => p.Initial()),
            device with { EnableProfiling = profile is not null, ProfilePrefix = profile });
    }

    /// <summary>Gives the hand-written step the compiled model's weights; Keras flattens HWC, the NCHW step CHW.</summary>
    internal static void CopyWeights(Model model, Dictionary<string, float[]> hand)
    {
        var w = model.Weights.Where(v => v.Trainable).ToList();
        string[] names = ["w1", "b1", "w2", "b2", "w3", "b3", "w4", "b4", "w5", "b5"];
        for (var i = 0; i < names.Length; i++) hand[names[i]] = (float[])w[i].Data.Clone();
        var keras = w[6].Data;
        var permuted = new float[keras.Length];
        for (var c = 0; c < 64; c++)
            for (var h = 0; h < 3; h++)
                for (var x = 0; x < 3; x++)
                    Array.Copy(keras, ((h * 3 + x) * 64 + c) * 64, permuted, (c * 9 + h * 3 + x) * 64, 64);
        hand["w4"] = permuted;
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NeuralService.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }

    public static double Median(this IEnumerable<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}

/// <summary>Kernel time per op type from an ONNX Runtime profile (Chrome trace JSON).</summary>
public static class Profile
{
    public static void Summarize(string label, string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var byOp = new Dictionary<string, (double Us, int Count)>();
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            if (!e.TryGetProperty("cat", out var cat) || cat.GetString() != "Node") continue;
            if (!e.GetProperty("name").GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal)) continue;
            var op = e.GetProperty("args").GetProperty("op_name").GetString()!;
            var (us, n) = byOp.GetValueOrDefault(op);
            byOp[op] = (us + e.GetProperty("dur").GetDouble(), n + 1);
        }
        var total = byOp.Values.Sum(v => v.Us);
        Console.WriteLine($"profile, {label} ({path}): kernel time {total / 1000:F0} ms, by op type");
        foreach (var (op, (us, n)) in byOp.OrderByDescending(kv => kv.Value.Us).Take(12))
            Console.WriteLine($"  {op,-22} {100 * us / total,5:F1}%  {us / 1000,9:F1} ms  {n,6} kernel runs");
    }
}
