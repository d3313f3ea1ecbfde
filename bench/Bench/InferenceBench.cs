using System.Diagnostics;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using NeuralService.Graph.Keras;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Bench;

/// <summary>In-process inference engine against a bare <see cref="InferenceSession"/> in the same run: overhead at
/// batch 64, and 64 concurrent batch-1 callers with and without dynamic batching next to the ceiling (the bare
/// session's batch-64 throughput).</summary>
public static class InferenceBench
{
    public static async Task RunAsync(BenchOptions o)
    {
        var seed = KerasModelJson.ReadFile(Path.Combine(BenchPaths.RepoRoot(), "onnx-models", "specs", "mnist_cnn.json")).ToOnnx();
        await RunModelAsync("seed CNN", seed, o);
        if (BenchPaths.ResNet18() is { } resnet) await RunModelAsync("ResNet18 (fixed batch 1)", OnnxModelsLoad(resnet), o);
        else Console.WriteLine("ResNet18.onnx not found (restore NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1); skipped");
    }

    private static ModelProto OnnxModelsLoad(string path) => NeuralService.Graph.Onnx.OnnxModels.Load(path);

    private static async Task RunModelAsync(string label, ModelProto model, BenchOptions o)
    {
        var dir = Directory.CreateTempSubdirectory("inference-bench");
        try
        {
            using var registry = await ModelRegistry.OpenSqliteAsync(dir.FullName);
            var version = await registry.RegisterAsync("bench", model);
            var input = model.Graph.Input.First(i => model.Graph.Initializer.All(t => t.Name != i.Name));
            var sampleDims = input.Type.TensorType.Shape.Dim.Skip(1).Select(d => d.DimValue).ToArray();
            var fixedBatch = input.Type.TensorType.Shape.Dim[0].HasDimValue;
            var sampleSize = (int)sampleDims.Aggregate(1L, (p, d) => p * d);
            var rng = new Random(1);
            float[] Data(int n) => Enumerable.Range(0, n * sampleSize).Select(_ => (float)rng.NextDouble()).ToArray();

            using var options = new SessionOptions { IntraOpNumThreads = o.Threads, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            using var bare = new InferenceSession(model.ToByteArray(), options);
            var bigBatch = fixedBatch ? 1 : 64;
            var big = Data(bigBatch);
            var seconds = Math.Max(1, o.Steps / 10.0);

            double BareRate(int batch, float[] data)
            {
                using var value = OrtValue.CreateTensorValueFromMemory(data, [batch, .. sampleDims]);
                var names = new[] { input.Name };
                var sw = Stopwatch.StartNew();
                var n = 0;
                while (sw.Elapsed.TotalSeconds < seconds)
                {
                    using var r = bare.Run(new RunOptions(), names, [value], bare.OutputNames);
                    n++;
                }
                return n * batch / sw.Elapsed.TotalSeconds;
            }

            await using var batching = new InferenceEngine(registry, new EngineOptions
            {
                UseCuda = false, IntraOpThreads = o.Threads, Log = _ => { },
                Batching = new BatchingOptions { MaxBatchSize = 64, MaxQueueDelay = TimeSpan.FromMilliseconds(o.QueueDelayMs), QueueCapacity = 4096 },
            });
            await using var unbatched = new InferenceEngine(registry, new EngineOptions
            {
                UseCuda = false, IntraOpThreads = o.Threads, Log = _ => { },
                Batching = new BatchingOptions { MaxBatchSize = 1, QueueCapacity = 4096 },
            });
            var tensor = NamedTensor.Create(input.Name, big, [bigBatch, .. sampleDims]);
            var one = NamedTensor.Create(input.Name, Data(1), [1, .. sampleDims]);
            await batching.InferAsync(version, [tensor]);
            await unbatched.InferAsync(version, [one]);

            // Alternating short windows, medians over rounds: the machine's background load moves all four alike.
            var (ceilings, engineBigs) = (new List<double>(), new List<double>());
            var batched = new List<(double Rate, double P50, double P99)>();
            var serial = new List<(double Rate, double P50, double P99)>();
            for (var r = 0; r < o.Rounds; r++)
            {
                ceilings.Add(BareRate(bigBatch, big));
                var sw = Stopwatch.StartNew();
                var calls = 0;
                while (sw.Elapsed.TotalSeconds < seconds) { await batching.InferAsync(version, [tensor]); calls++; }
                engineBigs.Add(calls * bigBatch / sw.Elapsed.TotalSeconds);
                batched.Add(await ConcurrentAsync(batching, version, one, 64, seconds));
                serial.Add(await ConcurrentAsync(unbatched, version, one, 64, seconds));
            }
            var ceiling = ceilings.Median();
            var engineBig = engineBigs.Median();
            Console.WriteLine($"{label}: batch {bigBatch}: bare session {ceiling:F0} samples/s, engine {engineBig:F0} samples/s, overhead {(1 - engineBig / ceiling) * 100:F1}% (medians of {o.Rounds} alternating rounds of {seconds:F1} s)");
            foreach (var (name, runs) in new[] { ($"dynamic batching (max delay {o.QueueDelayMs} ms)", batched), ("no batching", serial) })
            {
                var rate = runs.Select(x => x.Rate).Median();
                Console.WriteLine($"{label}: 64 concurrent batch-1 callers, {name}: {rate:F0} samples/s ({rate / ceiling * 100:F0}% of the batch-{bigBatch} ceiling), p50 {runs.Select(x => x.P50).Median():F2} ms, p99 {runs.Select(x => x.P99).Median():F2} ms");
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<(double Rate, double P50, double P99)> ConcurrentAsync(InferenceEngine engine, ModelVersion version, NamedTensor input, int callers, double seconds)
    {
        await engine.InferAsync(version, [input]);
        var latencies = new List<double>[callers];
        var sw = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, callers).Select(async c =>
        {
            latencies[c] = [];
            await Task.Yield();
            while (sw.Elapsed.TotalSeconds < seconds)
            {
                var start = sw.Elapsed.TotalMilliseconds;
                await engine.InferAsync(version, [input]);
                latencies[c].Add(sw.Elapsed.TotalMilliseconds - start);
            }
        }).ToArray();
        await Task.WhenAll(tasks);
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return (all.Length / sw.Elapsed.TotalSeconds, all[all.Length / 2], all[(int)(all.Length * 0.99)]);
    }
}

public static class BenchPaths
{
    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NeuralService.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }

    /// <summary>ResNet18.onnx from the NuGet cache (package Microsoft.ML.DnnImageFeaturizer.ResNet18).</summary>
    public static string? ResNet18()
    {
        var root = Path.Combine(Environment.GetEnvironmentVariable("NUGET_PACKAGES") ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages"),
            "microsoft.ml.dnnimagefeaturizer.resnet18");
        return Directory.Exists(root) ? Directory.EnumerateFiles(root, "ResNet18.onnx", SearchOption.AllDirectories).FirstOrDefault() : null;
    }
}
