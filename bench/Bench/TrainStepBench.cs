namespace NeuralService.Bench;

/// <summary>Seed CNN train step, samples/s: the compiled step (layers + autodiff + optimizer) against the same step
/// written by hand in plain ONNX ops, alternating rounds in one process.</summary>
public static class TrainStepBench
{
    public static void Run(BenchOptions o)
    {
        var device = new NeuralService.Training.Execution.DeviceOptions { Kind = NeuralService.Training.Execution.DeviceKind.Cpu, IntraOpThreads = o.Threads };
        var rng = new Random(1);
        var x = Enumerable.Range(0, o.Batch * 784).Select(_ => (float)rng.NextDouble()).ToArray();
        var y = Enumerable.Range(0, o.Batch).Select(_ => (long)rng.Next(10)).ToArray();
        var (model, sig, init) = HandWrittenCnnStep.Build(o.Batch);
        using var hand = new NeuralService.Training.Execution.StepSession(model, sig, init, device);
        var handRates = new List<double>();
        for (var r = 0; r < o.Rounds; r++)
            handRates.Add(StepTimer.SamplesPerSecond(hand, "x", x, [o.Batch, 1, 28, 28], "y", y, o.Batch, o.Steps));
        Console.WriteLine($"hand-written step: {handRates.Median():F0} samples/s (median of {o.Rounds} rounds of {o.Steps} steps, batch {o.Batch}, {o.Threads} threads)");
    }

    public static double Median(this IEnumerable<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }
}
