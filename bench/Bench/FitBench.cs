using System.Diagnostics;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Training;
using NeuralService.Training;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Bench;

/// <summary>Seed CNN training through <see cref="Trainer.Fit(InMemoryDataset, FitOptions?)"/> (shuffling, batching,
/// prefetching, metrics) next to the bare train-step graph fed one fixed batch, same run: the difference is what the
/// data pipeline costs.</summary>
public static class FitBench
{
    public static void Run(BenchOptions o)
    {
        foreach (var batch in new[] { o.Batch, 512 }.Distinct())
        {
            var n = batch * o.Steps;
            var rng = new Random(2);
            var x = Enumerable.Range(0, n * 784).Select(_ => (float)rng.NextDouble()).ToArray();
            var y = Enumerable.Range(0, n).Select(_ => (long)rng.Next(10)).ToArray();
            var data = new InMemoryDataset(DataArray.Create(x, n, 28, 28, 1), DataArray.Create(y, n));
            var spec = Path.Combine(BenchPaths.RepoRoot(), "onnx-models", "specs", "mnist_cnn.json");
            var device = new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = o.Threads };

            var bareRates = new List<double>();
            var fitRates = new List<double>();
            for (var r = 0; r < o.Rounds; r++)
            {
                var model = KerasModelJson.ReadFile(spec);
                var compiled = TrainingGraph.Compile(model, "sparse_categorical_crossentropy", new Adam(), ["accuracy"]);
                var sig = compiled.Signature;
                using (var bare = new StepSession(compiled.Model,
                    new StepSignature([.. sig.Features, .. sig.Targets], sig.Persistent.Select(p => (p.Input, p.Output!)).ToList(), [sig.LearningRate!, sig.Step!], [sig.LossOutput, .. sig.MetricOutputs]),
                    sig.Persistent.ToDictionary(p => p.Input, p => p.Initial()), device))
                {
                    bareRates.Add(StepTimer.SamplesPerSecond(bare, sig.Features.Single(), x.AsSpan(0, batch * 784).ToArray(), [batch, 28, 28, 1],
                        sig.Targets.Single(), y[..batch], batch, o.Steps, sig.LearningRate!, sig.Step!));
                }
                using var trainer = new Trainer(KerasModelJson.ReadFile(spec), device);
                trainer.Compile(new Adam(), "sparse_categorical_crossentropy", ["accuracy"]);
                trainer.Fit(new InMemoryDataset(data.Features.Slice(0, batch * 2), data.Labels!.Slice(0, batch * 2)), new FitOptions { Epochs = 1, BatchSize = batch, Verbose = 0 });
                var sw = Stopwatch.StartNew();
                trainer.Fit(data, new FitOptions { Epochs = 1, BatchSize = batch, Verbose = 0 });
                fitRates.Add(n / sw.Elapsed.TotalSeconds);
            }
            var (bareRate, fitRate) = (bareRates.Median(), fitRates.Median());
            Console.WriteLine($"batch {batch}: bare step {bareRate:F0} samples/s, Fit {fitRate:F0} samples/s, pipeline cost {(1 - fitRate / bareRate) * 100:F1}% (medians of {o.Rounds} rounds, {o.Steps} steps, {o.Threads} threads, CPU)");
        }
        Console.WriteLine($"peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)} MiB");
    }
}
