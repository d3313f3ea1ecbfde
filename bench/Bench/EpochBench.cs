using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using NeuralService.Graph.Autodiff;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Bench;

/// <summary>One Fashion-MNIST epoch of the seed CNN (batch 64, Adam) four ways, in alternating rounds of one run:
/// the whole <c>neural train</c> command as a user runs it (a child process: start-up, data, steps, outputs), bare
/// hand-written plain-ONNX steps over the same samples, bare compiled steps over the same samples, and PyTorch's epoch
/// loop (bench/speed/torch_epoch.py). Prints the ratios of DESIGN's speed targets.</summary>
public static class EpochBench
{
    public static int Run(BenchOptions o, string[] args)
    {
        string Get(string name, string fallback) => BenchOptions.Value(args, name, fallback);
        var samples = int.Parse(Get("--samples", "60000"), CultureInfo.InvariantCulture);
        var root = BenchPaths.RepoRoot();
        var neural = Path.Combine(root, "src", "Cli", "bin", "Release", "net10.0", "neural.dll");
        if (!File.Exists(neural))
        {
            Console.Error.WriteLine($"error: {neural} is missing: build it first (dotnet build src/Cli/Cli.csproj -c Release)");
            return 2;
        }
        var python = BenchOptions.TorchPython(args);

        var data = BuiltinDatasets.Load("fashion-mnist");
        samples = Math.Min(samples, data.Count);
        var x = data.Features.Slice(0, samples).ToFloat32();
        for (var i = 0; i < x.Length; i++) x[i] /= 255f;
        var y = data.Labels!.Slice(0, samples).ToInt64();
        var batch = o.Batch;
        var device = new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = o.Threads };

        var cli = new List<double>();
        var hand = new List<double>();
        var compiled = new List<double>();
        var torch = new List<double>();
        var torchWhole = new List<double>();
        var load = new List<string>();
        var measures = new List<(string Name, Action Run)>
        {
            ("neural train (whole command)", () => cli.Add(samples / Cli(neural, root, samples, batch))),
            ("hand-written steps", () => hand.Add(Bare(HandSession(batch, device), "x", "y", "lr", "step", x, y, batch, zeroBasedStep: false))),
            ("compiled steps", () =>
            {
                var (_, c) = TrainStepBench.CompiledStep(batch, GradientOptions.Default);
                var sig = c.Signature;
                compiled.Add(Bare(TrainStepBench.Session(c, device, null), sig.Features.Single(), sig.Targets.Single(), sig.LearningRate!, sig.Step!, x, y, batch, zeroBasedStep: true));
            }),
        };
        if (python is not null)
            measures.Add(("PyTorch epoch loop", () =>
            {
                var (loop, whole) = Torch(python, root, samples, batch, o.Threads);
                torch.Add(samples / loop);
                torchWhole.Add(samples / whole);
            }));
        for (var r = 0; r < o.Rounds; r++)
        {
            load.Add(File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?");
            // Rotate the order so no measure always runs first (after a quiet spell) or last.
            for (var k = 0; k < measures.Count; k++)
            {
                var (name, run) = measures[(k + r) % measures.Count];
                var sw = Stopwatch.StartNew();
                run();
                Console.WriteLine($"round {r + 1}: {name,-30} {sw.Elapsed.TotalSeconds,7:F1} s");
            }
        }

        static string Rounds(List<double> v) => string.Join(", ", v.Select(r => r.ToString("F0", CultureInfo.InvariantCulture)));
        Console.WriteLine($"seed CNN, Fashion-MNIST {samples} samples, batch {batch}, {o.Threads} threads, {o.Rounds} rounds (load average at round start: {string.Join(", ", load)})");
        Console.WriteLine($"  neural train, whole command: {cli.Median(),7:F0} samples/s  (rounds: {Rounds(cli)})");
        Console.WriteLine($"  hand-written steps:          {hand.Median(),7:F0} samples/s  (rounds: {Rounds(hand)})");
        Console.WriteLine($"  compiled steps:              {compiled.Median(),7:F0} samples/s  (rounds: {Rounds(compiled)})");
        if (torch.Count > 0)
            Console.WriteLine($"  PyTorch epoch loop:          {torch.Median(),7:F0} samples/s  (rounds: {Rounds(torch)}; whole script {Rounds(torchWhole)})");
        // Ratios per round (each pair measured close together), then their median.
        var r1 = compiled.Zip(hand, (a, b) => a / b).ToList();
        var r2 = cli.Zip(hand, (a, b) => a / b).ToList();
        Console.WriteLine($"(1) compiled step / hand-written step:        {r1.Median():F2}  (target >= 1.0; rounds: {string.Join(", ", r1.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)))})");
        Console.WriteLine($"(2) whole CLI epoch / bare hand-written steps: {r2.Median():F2}  (target >= 0.9; rounds: {string.Join(", ", r2.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)))})");
        if (torch.Count > 0)
        {
            var r3 = cli.Zip(torch, (a, b) => a / b).ToList();
            Console.WriteLine($"(3) whole CLI epoch / PyTorch epoch loop:     {r3.Median():F2}  (target > 1, goal 1.5; rounds: {string.Join(", ", r3.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)))})");
        }
        return 0;
    }

    /// <summary>The hand-written step from the compiled model's initial weights (both start equal).</summary>
    private static StepSession HandSession(int batch, DeviceOptions device)
    {
        var (model, _) = TrainStepBench.CompiledStep(batch, GradientOptions.Default);
        var (handModel, handSig, handInit) = HandWrittenCnnStep.Build(batch);
        TrainStepBench.CopyWeights(model, handInit);
        return new StepSession(handModel, handSig, handInit, device);
    }

    /// <summary>Samples/s of bare steps over the samples in order, full batches only (the step graphs' batch is static
    /// for the hand-written one); each batch copied into the bound input as Fit does. Session creation is not timed.</summary>
    private static double Bare(StepSession session, string xName, string yName, string lr, string step, float[] x, long[] y, int batch, bool zeroBasedStep)
    {
        using (session)
        {
            var nhwc = !string.Equals(xName, "x", StringComparison.Ordinal);
            long[] dims = nhwc ? [batch, 28, 28, 1] : [batch, 1, 28, 28];
            var batches = y.Length / batch;
            session.SetScalar(lr, 1e-3);
            var sw = Stopwatch.StartNew();
            for (var b = 0; b < batches; b++)
            {
                session.SetBatch(xName, x.AsSpan(b * batch * 784, batch * 784), dims);
                session.SetBatch(yName, y.AsSpan(b * batch, batch), [batch]);
                session.SetScalar(step, zeroBasedStep ? b : b + 1);
                session.Step();
            }
            return batches * batch / sw.Elapsed.TotalSeconds;
        }
    }

    /// <summary>Wall seconds of <c>neural train</c> on the first <paramref name="samples"/> Fashion-MNIST samples.</summary>
    private static double Cli(string neural, string root, int samples, int batch)
    {
        var outDir = Path.Combine(Path.GetTempPath(), $"bench-epoch-{Environment.ProcessId}");
        var (code, stdout, stderr, seconds) = AppsBench.Child("dotnet", [neural, "train", Path.Combine("onnx-models", "specs", "mnist_cnn.json"), "--data", "fashion-mnist",
            "--limit", samples.ToString(CultureInfo.InvariantCulture), "--epochs", "1", "--batch-size", batch.ToString(CultureInfo.InvariantCulture),
            "--device", "cpu", "--out", outDir, "--overwrite"], root, quiet: true);
        if (code != 0) throw new InvalidOperationException($"neural train failed ({code}): {stdout}{stderr}");
        Directory.Delete(outDir, recursive: true);
        return seconds;
    }

    /// <summary>(epoch loop seconds, whole script seconds) of bench/speed/torch_epoch.py.</summary>
    private static (double Loop, double Whole) Torch(string python, string root, int samples, int batch, int threads)
    {
        var (code, stdout, stderr, whole) = AppsBench.Child(python, [Path.Combine("bench", "speed", "torch_epoch.py"), "--samples", samples.ToString(CultureInfo.InvariantCulture),
            "--batch", batch.ToString(CultureInfo.InvariantCulture), "--threads", threads.ToString(CultureInfo.InvariantCulture)], root, quiet: true);
        var last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim() ?? "";
        if (code != 0 || !last.StartsWith('{')) throw new InvalidOperationException($"torch_epoch.py failed ({code}): {stdout}{stderr}");
        using var json = JsonDocument.Parse(last);
        return (json.RootElement.GetProperty("train_seconds").GetDouble(), whole);
    }
}
