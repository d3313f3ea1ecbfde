using System.Diagnostics;
using System.Globalization;
using NeuralService.Training.Execution;

namespace NeuralService.Bench;

/// <summary>Benchmarks, each comparing against a reference measured in the same run (ratios, not absolute times).</summary>
public static class BenchApp
{
    public static int Run(string[] args)
    {
        var options = BenchOptions.Parse(args);
        switch (options.Command)
        {
            case "train-step":
                return TrainStepBench.Run(options);
            case "epoch":
                return EpochBench.Run(options, args);
            case "deep-conv":
                return DeepConvBench.Run(options, args);
            case "fit":
                FitBench.Run(options);
                return 0;
            case "inference":
                InferenceBench.RunAsync(options).GetAwaiter().GetResult();
                return 0;
            case "lstm":
                LstmBench.Run(options, args);
                return 0;
            case "lstm-one":
                LstmBench.RunOne(options, args);
                return 0;
            case "apps":
                return AppsBench.Run(args);
            case "api-load":
                ApiLoadBench.RunAsync(args).GetAwaiter().GetResult();
                return 0;
            default:
                Console.Error.WriteLine("usage: bench train-step|epoch|deep-conv|fit|inference|lstm|api-load|apps [--batch 64] [--steps 30] [--rounds 3] [--threads 2] [--profile dir] (epoch: [--samples 60000] [--python PATH] [--no-torch]; deep-conv: [--channels 512] [--size 7] (batch 16, 16 steps unless given) [--python PATH]; lstm: [--lengths 100,200,500] [--form Scan|Decomposed] [--weight-grad accumulate|outside]; api-load: [--clients 64] [--seconds 10] [--model mlp|keras.json] [--request-log] [--Neural:Key value]; apps: [--apps a,b] [--epochs n] [--samples n] [--seed 1] [--threads 2] [--rounds 2] [--python path|$BENCH_PYTHON] [--torch-args \"--lstm loop\"] [--out dir])");
                return 2;
        }
    }
}

public sealed record BenchOptions(string Command, int Batch, int Steps, int Rounds, int Threads, string? Profile, double QueueDelayMs = 2)
{
    /// <summary>The value after <paramref name="name"/> in <paramref name="args"/>, or <paramref name="fallback"/>.</summary>
    public static string Value(string[] args, string name, string fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }

    /// <summary>The python3 that imports torch (<c>--python</c>, <c>$BENCH_PYTHON</c>, python3, /usr/bin/python3), or null
    /// with a line saying the PyTorch side is skipped; null too with <c>--no-torch</c>.</summary>
    public static string? TorchPython(string[] args)
    {
        var python = args.Contains("--no-torch") ? null
            : AppsBench.FindTorchPython(AppsBench.Options.Parse(args, Environment.GetEnvironmentVariable(AppsBench.PythonVariable)).Pythons).Python;
        if (python is null) Console.WriteLine("PyTorch: skipped (no python3 that imports torch; install Debian's python3-torch or pass --python PATH)");
        return python;
    }

    public static BenchOptions Parse(string[] args)
    {
        string Get(string name, string fallback) => Value(args, name, fallback);
        return new BenchOptions(args.FirstOrDefault() ?? "", int.Parse(Get("--batch", "64"), CultureInfo.InvariantCulture),
            int.Parse(Get("--steps", "30"), CultureInfo.InvariantCulture), int.Parse(Get("--rounds", "3"), CultureInfo.InvariantCulture),
            int.Parse(Get("--threads", "2"), CultureInfo.InvariantCulture), args.Contains("--profile") ? Get("--profile", "profile") : null,
            double.Parse(Get("--queue-delay-ms", "2"), CultureInfo.InvariantCulture));
    }
}

/// <summary>Times steps of a step session on fixed random data.</summary>
public static class StepTimer
{
    public static double SamplesPerSecond(StepSession session, string xName, float[] x, long[] xDims, string yName, long[] y, int batch, int steps,
        string lr, string step)
    {
        session.SetBatch(xName, x, xDims);
        session.SetBatch(yName, y, [batch]);
        session.SetScalar(lr, 1e-3);
        for (var i = 0; i < 2; i++) { session.SetScalar(step, session.Steps + 1); session.Step(); }
        var sw = Stopwatch.StartNew();
        for (var i = 0; i < steps; i++) { session.SetScalar(step, session.Steps + 1); session.Step(); }
        return batch * steps / sw.Elapsed.TotalSeconds;
    }
}
