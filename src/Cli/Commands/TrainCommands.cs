using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Training;
using NeuralService.Training;
using NeuralService.Training.Execution;

namespace NeuralService.Cli.Commands;

/// <summary><c>neural train</c>, <c>neural evaluate</c> and <c>neural predict</c>. A trained directory holds
/// <c>model.json</c> (config), <c>model.onnx</c> (inference graph, trained weights, signature and preprocessing in
/// metadata_props), <c>checkpoint.npz</c>, <c>training.json</c> (compile settings), <c>history.json</c> and
/// <c>history.png</c>.</summary>
public static class TrainCommands
{
    internal const string ScaleKey = "neuralservice.preprocessing.scale";
    internal const string ClassNamesKey = "neuralservice.class_names";

    private static Option<string> DataOption() => new("--data") { Description = DataSources.Help, Required = true };
    private static Option<string?> LabelOption() => new("--label") { Description = "CSV label column (default: the last)" };
    private static Option<int?> LimitOption() => new("--limit") { Description = "Use only the first n samples" };
    private static Option<string> DeviceOption() => new("--device") { Description = "auto, cpu or cuda", DefaultValueFactory = _ => "auto" };

    public static Command Train(TextWriter stdout)
    {
        var spec = new Argument<FileInfo>("model.json") { Description = "Keras model config (model.to_json())" };
        var data = DataOption();
        var label = LabelOption();
        var limit = LimitOption();
        var epochs = new Option<int>("--epochs") { Description = "Epochs", DefaultValueFactory = _ => 1 };
        var batch = new Option<int>("--batch-size") { Description = "Batch size", DefaultValueFactory = _ => 32 };
        var optimizer = new Option<string>("--optimizer") { Description = "Keras optimizer name", DefaultValueFactory = _ => "adam" };
        var lr = new Option<double?>("--learning-rate") { Description = "Learning rate (optimizer default if omitted)" };
        var loss = new Option<string[]>("--loss")
        {
            Description = "Keras loss name for every output, one per output in order (comma-separated or repeated), or output=loss,… " +
                "(default: from each output and its labels)",
        };
        var lossWeights = new Option<string[]>("--loss-weights") { Description = "Factor of each output's loss in the total: w1,w2,… in output order or output=w,…" };
        var metrics = new Option<string[]>("--metrics")
        {
            Description = "Comma-separated Keras metric names for every output (accuracy,precision), or by output: output=metric,…",
        };
        var split = new Option<double>("--validation-split") { Description = "Fraction held out for validation (the tail)" };
        var device = DeviceOption();
        var seed = new Option<int>("--seed") { Description = "Seed for initialization, dropout and shuffling" };
        var output = new Option<DirectoryInfo>("--out") { Description = "Directory to write", Required = true };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the --out directory if it exists (by default an existing run is kept and training refused)" };
        var command = new Command("train", "Train a model config on a dataset and write the trained model, checkpoint and history")
            { spec, data, label, limit, epochs, batch, optimizer, lr, loss, lossWeights, metrics, split, device, seed, output, overwrite };
        command.SetAction(parse => ModelCommands.Guarded(parse, () =>
        {
            var target = parse.GetValue(output)!.FullName;
            // Checked before any work: a finished run is not replaced by accident, nor found out after an hour of training.
            if (!parse.GetValue(overwrite) && (File.Exists(target) || Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any()))
                throw new ArgumentException($"--out '{parse.GetValue(output)}' already exists; pass --overwrite to replace it, or choose another directory");
            var model = KerasModelJson.ReadFile(parse.GetValue(spec)!.FullName);
            var loaded = DataSources.Load(parse.GetValue(data)!, model, parse.GetValue(label), parse.GetValue(limit));
            var outputs = model.OutputNames;
            var lossNames = OutputArguments.Losses(parse.GetValue(loss))?.Resolve(outputs, "--loss")
                ?? outputs.Select((_, i) => DefaultLoss(model, loaded, i)).ToList();
            var weights = OutputArguments.Weights(parse.GetValue(lossWeights))?.Resolve(outputs, "--loss-weights", _ => 1.0);
            var metricLists = OutputArguments.Metrics(parse.GetValue(metrics)).Resolve(outputs, "--metrics", _ => []);
            var opt = Optimizer(parse.GetValue(optimizer)!, parse.GetValue(lr));
            var single = outputs.Count == 1;
            var settings = new TrainingSettings(opt.Name, opt.LearningRate, OutputArguments.Format(outputs, lossNames, l => l), single ? metricLists[0] : [])
            {
                Losses = single ? null : outputs.Zip(lossNames).ToDictionary(),
                LossWeights = weights is null ? null : outputs.Zip(weights).ToDictionary(),
                OutputMetrics = single ? null : outputs.Zip(metricLists).ToDictionary(),
            };
            var stderr = parse.InvocationConfiguration.Error;
            using var trainer = new Trainer(model, Device(parse.GetValue(device)!), parse.GetValue(seed));
            settings.Compile(trainer);
            var history = trainer.Fit(loaded.Data, new FitOptions
            {
                Epochs = Positive(parse.GetValue(epochs), "--epochs"),
                BatchSize = Positive(parse.GetValue(batch), "--batch-size"),
                ValidationSplit = parse.GetValue(split),
                Output = stderr,
            });
            WriteAtomically(target, tmp =>
            {
                trainer.SyncWeightsToModel();
                OnnxModels.Save(model.ToOnnx(new ExportOptions { Metadata = Metadata(model, loaded, settings) }), Path.Combine(tmp, "model.onnx"));
                File.WriteAllText(Path.Combine(tmp, "model.json"), KerasModelJson.Write(model));
                trainer.SaveCheckpoint(Path.Combine(tmp, "checkpoint.npz"), history.Epochs.Count == 0 ? 0 : history.Epochs[^1] + 1);
                File.WriteAllText(Path.Combine(tmp, "training.json"), JsonSerializer.Serialize(settings with { Scale = loaded.Scale }, JsonOptions));
                File.WriteAllText(Path.Combine(tmp, "history.json"), history.ToJson());
                HistoryPlot.Save(history, Path.Combine(tmp, "history.png"), model.Name);
            });
            var last = history.Values.ToDictionary(kv => kv.Key, kv => kv.Value[^1]);
            stdout.WriteLine($"wrote {target} ({history.Epochs.Count} epochs; {string.Join(", ", last.Select(kv => $"{kv.Key} {kv.Value.ToString("F4", CultureInfo.InvariantCulture)}"))})");
        }));
        return command;
    }

    public static Command Evaluate(TextWriter stdout)
    {
        var dir = new Argument<DirectoryInfo>("dir") { Description = "Directory written by neural train" };
        var data = DataOption();
        var label = LabelOption();
        var limit = LimitOption();
        var batch = new Option<int>("--batch-size") { Description = "Batch size", DefaultValueFactory = _ => 256 };
        var device = DeviceOption();
        var command = new Command("evaluate", "Print the loss and metrics of a trained model on a dataset as one JSON object") { dir, data, label, limit, batch, device };
        command.SetAction(parse => ModelCommands.Guarded(parse, () =>
        {
            var (model, settings, trainer) = Restore(parse.GetValue(dir)!.FullName, Device(parse.GetValue(device)!));
            using (trainer)
            {
                var loaded = DataSources.Load(parse.GetValue(data)!, model, parse.GetValue(label), parse.GetValue(limit), settings.Scale);
                var result = trainer.Evaluate(loaded.Data, Positive(parse.GetValue(batch), "--batch-size"));
                var json = new JsonObject();
                foreach (var (k, v) in result) json[k] = double.IsFinite(v) ? v : null;
                stdout.WriteLine(json.ToJsonString());
            }
        }));
        return command;
    }

    public static Command Predict(TextWriter stdout)
    {
        var dir = new Argument<DirectoryInfo>("dir") { Description = "Directory written by neural train" };
        var data = DataOption();
        var label = LabelOption();
        var limit = new Option<int?>("--limit") { Description = "Predict only the first n samples", DefaultValueFactory = _ => 10 };
        var plot = new Option<FileInfo?>("--plot") { Description = "Also draw the predictions to this PNG: an image classifier's images with predicted (and, given labels, true) classes, another classifier's confusion matrix, or a regressor's actual vs predicted values" };
        var command = new Command("predict", "Print the model's predictions, one line per sample (class and probability for classifiers)") { dir, data, label, limit, plot };
        command.SetAction(parse => ModelCommands.Guarded(parse, () =>
        {
            var root = parse.GetValue(dir)!.FullName;
            var onnxPath = Path.Combine(root, "model.onnx");
            var proto = OnnxModels.Load(Required(onnxPath));
            var meta = proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
            var model = KerasModelJson.ReadFile(Required(Path.Combine(root, "model.json")));
            float? scale = meta.TryGetValue(ScaleKey, out var s) ? float.Parse(s, CultureInfo.InvariantCulture) : null;
            // A model whose batch_shape fixes its batch size (stateful recurrent models) runs whole batches of it.
            var fixedBatch = model.Inputs[0].Shape is { Rank: > 0 } s0 && s0[0].IsKnown ? (int)s0[0].Known : (int?)null;
            var shown = parse.GetValue(limit);
            var read = shown is { } l && fixedBatch is { } fb ? (l + fb - 1) / fb * fb : shown;
            var loaded = DataSources.Load(parse.GetValue(data)!, model, parse.GetValue(label), read, scale, needLabels: false);
            var plotted = parse.GetValue(plot) is { } plotFile ? new PredictionPlot.Collector(plotFile.FullName, parse.GetValue(data)!, model, parse.GetValue(label), read, scale) : null;
            var classes = meta.TryGetValue(ClassNamesKey, out var c) ? JsonSerializer.Deserialize<string[]>(c) : null;
            using var session = new InferenceSession(onnxPath);
            var inputs = loaded.Data.Inputs;
            var names = model.InputNames;
            var outputNames = session.OutputNames;
            var count = inputs.SampleCount;
            var chunk = fixedBatch ?? 256;
            if (count % chunk != 0 && fixedBatch is not null)
                throw new InvalidDataException($"the model takes batches of exactly {chunk} (its batch_shape) but the data has {count} samples");
            var described = Enumerable.Range(0, outputNames.Count)
                .Select(o => (Width: DataSources.OutputWidth(model, o), Classifier: DataSources.IsClassifier(model, o))).ToList();
            if (outputNames.Count > 1) classes = null; // class names come from a one-output dataset's folders or files
            for (var start = 0; start < count && (shown is null || start < shown); start += chunk)
            {
                var n = Math.Min(chunk, count - start);
                var feeds = names.Select((name, i) =>
                {
                    var part = inputs[i].Slice(start, n);
                    int[] dims = [part.Count, .. part.SampleShape];
                    return session.InputMetadata[name].ElementDataType == TensorElementType.Int64
                        ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(part.ToInt64(), dims))
                        : NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(part.ToFloat32(), dims));
                }).ToList();
                using var results = session.Run(feeds);
                var ys = outputNames.Select(o => results.First(r => r.Name == o).AsTensor<float>().ToArray()).ToList();
                plotted?.Add(ys[0], n, shown is null ? n : Math.Min(n, shown.Value - start));
                for (var r = 0; r < n && (shown is null || start + r < shown); r++)
                {
                    string Fields(int o)
                    {
                        // A classifier's row is its class scores; a sequence of them ([steps, classes]) prints as values.
                        var width = ys[o].Length / n;
                        return Describe(ys[o].AsSpan(r * width, width), described[o].Classifier && width == described[o].Width, classes);
                    }
                    stdout.WriteLine(outputNames.Count == 1
                        ? $"{{\"index\":{start + r},{Fields(0)}}}"
                        : $"{{\"index\":{start + r},\"outputs\":{{{string.Join(",", outputNames.Select((o, i) => $"{JsonSerializer.Serialize(o)}:{{{Fields(i)}}}"))}}}}}");
                }
            }
            plotted?.Save(inputs[0], described[0].Classifier, classes);
        }));
        return command;
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>One sample's prediction of one output: class, name and probability for a classifier, else the values.</summary>
    private static string Describe(ReadOnlySpan<float> row, bool classifier, string[]? classes)
    {
        if (classifier && row.Length > 1)
        {
            var best = 0;
            for (var k = 1; k < row.Length; k++) if (row[k] > row[best]) best = k;
            return $"\"class\":{best},\"name\":{JsonSerializer.Serialize(classes is not null && best < classes.Length ? classes[best] : null)},\"probability\":{DataSources.Format(row[best])}";
        }
        if (classifier) return $"\"class\":{(row[0] >= 0.5f ? 1 : 0)},\"probability\":{DataSources.Format(row[0])}";
        return $"\"value\":[{string.Join(",", row.ToArray().Select(v => DataSources.Format(v)))}]";
    }

    /// <summary>What <c>evaluate</c> recompiles with. <see cref="Loss"/> and <see cref="Metrics"/> serve every output of
    /// a one-output model; a model with several outputs has them by output name in <see cref="Losses"/> and
    /// <see cref="OutputMetrics"/> (<see cref="Loss"/> then holds the <c>--loss</c> form, <c>a=mse,b=mae</c>).</summary>
    internal sealed record TrainingSettings(string Optimizer, double LearningRate, string Loss, IReadOnlyList<string> Metrics)
    {
        public float Scale { get; init; } = 1f;
        public IReadOnlyDictionary<string, string>? Losses { get; init; }
        public IReadOnlyDictionary<string, double>? LossWeights { get; init; }
        public IReadOnlyDictionary<string, IReadOnlyList<string>>? OutputMetrics { get; init; }

        public void Compile(Trainer trainer)
        {
            var loss = Losses is null ? PerOutput.All(new LossSpec(Loss))
                : PerOutput.ByName(Losses.ToDictionary(kv => kv.Key, kv => new LossSpec(kv.Value), StringComparer.Ordinal));
            var metrics = OutputMetrics is null ? PerOutput.All(Metrics) : PerOutput.ByName(OutputMetrics);
            trainer.Compile(TrainCommands.Optimizer(Optimizer, LearningRate), loss, metrics, LossWeights is null ? null : PerOutput.ByName(LossWeights));
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>The model of a trained directory with its checkpoint loaded into a compiled trainer.</summary>
    internal static (Model Model, TrainingSettings Settings, Trainer Trainer) Restore(string root, DeviceOptions device)
    {
        var model = KerasModelJson.ReadFile(Required(Path.Combine(root, "model.json")));
        var settings = JsonSerializer.Deserialize<TrainingSettings>(File.ReadAllText(Required(Path.Combine(root, "training.json"))), JsonOptions)
            ?? throw new InvalidDataException($"{root}/training.json is empty");
        var trainer = new Trainer(model, device);
        try
        {
            settings.Compile(trainer);
            trainer.LoadCheckpoint(Required(Path.Combine(root, "checkpoint.npz")));
            return (model, settings, trainer);
        }
        catch
        {
            trainer.Dispose();
            throw;
        }
    }

    private static string Required(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"'{path}' not found (is this a directory written by neural train?)", path);

    internal static OptimizerSpec Optimizer(string name, double? lr)
    {
        try
        {
            var opt = OptimizerGraph.Get(name);
            return lr is { } r ? opt with { LearningRate = r } : opt;
        }
        catch (ArgumentException e) { throw new InvalidDataException(e.Message); }
    }

    private static DeviceOptions Device(string name) => new()
    {
        Kind = name.ToLowerInvariant() switch
        {
            "auto" => DeviceKind.Auto,
            "cpu" => DeviceKind.Cpu,
            "cuda" or "gpu" => DeviceKind.Cuda,
            _ => throw new InvalidDataException($"unknown device '{name}' (auto, cpu, cuda)"),
        },
    };

    private static int Positive(int value, string option) =>
        value > 0 ? value : throw new InvalidDataException($"{option} must be positive, got {value}");

    /// <summary>Sparse cross-entropy for class-index labels, categorical for one-hot, binary for one sigmoid unit, else
    /// MSE — for output <paramref name="output"/> and its labels.</summary>
    private static string DefaultLoss(Model model, LoadedData data, int output)
    {
        var width = DataSources.OutputWidth(model, output);
        var labels = data.Data.Targets![output];
        var classifier = DataSources.IsClassifier(model, output);
        if (width > 1 && classifier)
            return labels.SampleSize == 1 || labels.Rank < model.Outputs[output].Shape.Rank ? "sparse_categorical_crossentropy" : "categorical_crossentropy";
        return classifier ? "binary_crossentropy" : "mse";
    }

    /// <summary>Input and output names and shapes (comma-separated names and a list of shapes when there are several),
    /// losses, preprocessing and class names.</summary>
    private static Dictionary<string, string> Metadata(Model model, LoadedData data, TrainingSettings settings)
    {
        static string Dims(Graph.Core.Shape s) => "[" + string.Join(",", s.Dims.Select(d => d.IsKnown ? d.Known.ToString(CultureInfo.InvariantCulture) : "null")) + "]";
        static string Shapes(IReadOnlyList<KerasTensor> t) => t.Count == 1 ? Dims(t[0].Shape) : "[" + string.Join(",", t.Select(x => Dims(x.Shape))) + "]";
        var meta = new Dictionary<string, string>
        {
            ["neuralservice.input"] = string.Join(",", model.InputNames),
            ["neuralservice.input_shape"] = Shapes(model.Inputs),
            ["neuralservice.output"] = string.Join(",", model.OutputNames),
            ["neuralservice.output_shape"] = Shapes(model.Outputs),
            ["neuralservice.loss"] = settings.Loss,
            [ScaleKey] = data.Scale.ToString("R", CultureInfo.InvariantCulture),
            ["neuralservice.preprocessing"] = data.Scale == 1f ? "none" : $"x * {data.Scale.ToString("R", CultureInfo.InvariantCulture)}",
        };
        if (settings.LossWeights is { } w)
            meta["neuralservice.loss_weights"] = OutputArguments.Format(model.OutputNames, model.OutputNames.Select(o => w[o]).ToList(), v => v.ToString("R", CultureInfo.InvariantCulture));
        if (data.ClassNames is { } names && model.Outputs.Count == 1) meta[ClassNamesKey] = JsonSerializer.Serialize(names);
        return meta;
    }

    /// <summary>Writes a directory under a temporary sibling name and renames it into place, so a failure leaves
    /// either the old directory or none.</summary>
    internal static void WriteAtomically(string target, Action<string> write)
    {
        var parent = Path.GetDirectoryName(Path.GetFullPath(target))!;
        Directory.CreateDirectory(parent);
        var tmp = Path.Combine(parent, $".{Path.GetFileName(target)}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(tmp);
        try
        {
            write(tmp);
            if (Directory.Exists(target))
            {
                var old = tmp + ".old";
                Directory.Move(target, old);
                Directory.Move(tmp, target);
                Directory.Delete(old, recursive: true);
            }
            else Directory.Move(tmp, target);
        }
        catch
        {
            if (Directory.Exists(tmp)) Directory.Delete(tmp, recursive: true);
            throw;
        }
    }
}
