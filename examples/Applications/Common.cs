using System.Diagnostics;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Applications;

internal static class Common
{
    /// <summary>The repository root (where NeuralService.sln is), for the seed specs under onnx-models/specs.</summary>
    public static string RepoRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            var dir = new DirectoryInfo(start);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NeuralService.sln"))) dir = dir.Parent;
            if (dir is not null) return dir.FullName;
        }
        throw new InvalidOperationException("NeuralService.sln not found above the program or the current directory");
    }

    public static Model Spec(string name) => KerasModelJson.ReadFile(Path.Combine(RepoRoot(), "onnx-models", "specs", name));

    public static Model Json(string json) => KerasModelJson.Read(json);

    /// <summary>Compile, fit (progress to the log), evaluate on <paramref name="test"/>.</summary>
    public static (History History, IReadOnlyDictionary<string, double> Test, Trainer Trainer) Fit(Model model, InMemoryDataset train, InMemoryDataset test,
        AppOptions options, int epochs, int batchSize, double learningRate, LossSpec loss, IReadOnlyList<string> metrics, double validationSplit = 0)
    {
        var trainer = new Trainer(model, new DeviceOptions { IntraOpThreads = options.Threads }, seed: options.Seed);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        trainer.Compile(new Adam { LearningRate = learningRate }, loss, metrics);
        var history = trainer.Fit(train, new FitOptions { Epochs = epochs, BatchSize = batchSize, ValidationSplit = validationSplit, Output = options.Log, Verbose = 2 });
        // Training only (compile, epochs, validation), without data loading or the test evaluation: what bench apps compares.
        // CPU seconds too: on a shared machine wall time mostly measures the neighbours.
        var trainSeconds = clock.Elapsed.TotalSeconds;
        var trainCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        var eval = new Dictionary<string, double>(trainer.Evaluate(test, 256)) { ["train_s"] = Math.Round(trainSeconds, 2), ["train_cpu_s"] = Math.Round(trainCpu, 2) };
        return (history, eval, trainer);
    }

    /// <summary>A seeded permutation of 0..n-1.</summary>
    public static int[] Permutation(int n, int seed)
    {
        var p = Enumerable.Range(0, n).ToArray();
        new Random(seed).Shuffle(p);
        return p;
    }

    public static string PlotPath(AppOptions options, string name) => Path.GetFullPath(Path.Combine(options.OutputDirectory, name));
}
