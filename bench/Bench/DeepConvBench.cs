using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Training;
using NeuralService.Training;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Bench;

/// <summary>Training steps of a deep-layer network — three same-padded 3×3 convolutions of <c>--channels</c> channels
/// at <c>--size</c>×<c>--size</c> (ResNet18's layer4 is 512 at 7×7), ReLU, global average pool, Dense(4) softmax, Adam
/// — in NeuralService (Trainer.Fit over fixed random batches) and in PyTorch (bench/speed/torch_deep_conv.py, the same
/// network, data shape, optimizer and batch), alternating rounds. Where the seed CNN's step is many small ops, this
/// one is a few large convolutions and their gradients: kernel speed and the layout work around them.</summary>
public static class DeepConvBench
{
    public static int Run(BenchOptions o, string[] args)
    {
        string Get(string name, string fallback) => BenchOptions.Value(args, name, fallback);
        var channels = int.Parse(Get("--channels", "512"), CultureInfo.InvariantCulture);
        var size = int.Parse(Get("--size", "7"), CultureInfo.InvariantCulture);
        var batch = args.Contains("--batch") ? o.Batch : 16;
        var steps = args.Contains("--steps") ? o.Steps : 16;
        var root = BenchPaths.RepoRoot();
        var python = BenchOptions.TorchPython(args);

        // One epoch of `steps` batches (the same random batch repeated), so a round is steps, not epochs' bookkeeping.
        var rng = new Random(1);
        var one = Enumerable.Range(0, batch * channels * size * size).Select(_ => (float)rng.NextDouble()).ToArray();
        var x = DataArray.Create(Enumerable.Repeat(one, steps).SelectMany(b => b).ToArray(), batch * steps, channels, size, size);
        var y = DataArray.Vector(Enumerable.Range(0, batch * steps).Select(i => (long)(i % batch % 4)).ToArray());
        var data = new InMemoryDataset(x, y);
        var epoch = new FitOptions { Epochs = 1, BatchSize = batch, Shuffle = false, Verbose = 0 };
        using var trainer = new Trainer(Model(channels, size), new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = o.Threads }, seed: 1);
        trainer.Compile(new Adam { LearningRate = 1e-5 }, "sparse_categorical_crossentropy", []);
        trainer.Fit(data, epoch); // session, first steps
        Console.WriteLine($"deep-conv: {channels} channels at {size}x{size}, batch {batch}, {steps} steps x {o.Rounds} rounds, {o.Threads} threads, sides alternating");

        var ours = new List<double>();
        var theirs = new List<double>();
        for (var r = 0; r < o.Rounds; r++)
        {
            var clock = Stopwatch.StartNew();
            trainer.Fit(data, epoch);
            ours.Add(clock.Elapsed.TotalMilliseconds / steps);
            if (python is not null) theirs.Add(Torch(python, root, channels, size, batch, steps, o.Threads));
            Console.WriteLine($"  round {r + 1}: NeuralService {ours[^1]:F1} ms/step" + (python is null ? "" : $", PyTorch {theirs[^1]:F1} ms/step"));
        }
        var median = ours.Median();
        Console.WriteLine($"NeuralService: {median:F1} ms/step (median)");
        if (python is not null)
            Console.WriteLine($"PyTorch:       {theirs.Median():F1} ms/step (median); speed PyTorch/NeuralService {theirs.Median() / median:F2}");
        return 0;
    }

    private static NeuralService.Graph.Models.Model Model(int channels, int size)
    {
        string Conv(int i) => $$$"""{"class_name": "Conv2D", "config": {"name": "conv{{{i}}}", "filters": {{{channels}}}, "kernel_size": [3, 3], "padding": "same", "data_format": "channels_first", "activation": "relu"}}""";
        return KerasModelJson.Read($$$"""
            {"class_name": "Sequential", "config": {"name": "deep_conv", "layers": [
              {"class_name": "InputLayer", "config": {"batch_shape": [null, {{{channels}}}, {{{size}}}, {{{size}}}], "name": "x"}},
              {{{Conv(1)}}}, {{{Conv(2)}}}, {{{Conv(3)}}},
              {"class_name": "GlobalAveragePooling2D", "config": {"name": "pool", "data_format": "channels_first"}},
              {"class_name": "Dense", "config": {"name": "classes", "units": 4, "activation": "softmax"}}]}}
            """);
    }

    /// <summary>Milliseconds per step of one round of bench/speed/torch_deep_conv.py (its own process, warmed up).</summary>
    private static double Torch(string python, string root, int channels, int size, int batch, int steps, int threads)
    {
        string S(int v) => v.ToString(CultureInfo.InvariantCulture);
        var (code, stdout, stderr, _) = AppsBench.Child(python, [Path.Combine("bench", "speed", "torch_deep_conv.py"), "--channels", S(channels), "--size", S(size),
            "--batch", S(batch), "--steps", S(steps), "--threads", S(threads)], root, quiet: true);
        var last = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim() ?? "";
        if (code != 0 || !last.StartsWith('{')) throw new InvalidOperationException($"torch_deep_conv.py failed ({code}): {stdout}{stderr}");
        using var json = JsonDocument.Parse(last);
        return json.RootElement.GetProperty("ms_per_step")[0].GetDouble();
    }
}
