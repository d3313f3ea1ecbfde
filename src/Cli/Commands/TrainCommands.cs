using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralService.Graph.Keras;
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
        var loss = new Option<string?>("--loss") { Description = "Keras loss name (default: from the output and labels)" };
        var metrics = new Option<string?>("--metrics") { Description = "Comma-separated Keras metric names, e.g. accuracy,precision" };
        var split = new Option<double>("--validation-split") { Description = "Fraction held out for validation (the tail)" };
        var device = DeviceOption();
        var seed = new Option<int>("--seed") { Description = "Seed for initialization, dropout and shuffling" };
        var output = new Option<DirectoryInfo>("--out") { Description = "Directory to write", Required = true };
        var command = new Command("train", "Train a model config on a dataset and write the trained model, checkpoint and history")
            { spec, data, label, limit, epochs, batch, optimizer, lr, loss, metrics, split, device, seed, output };
        command.SetAction(parse => ModelCommands.Guarded(parse, () =>
        {
            var model = KerasModelJson.ReadFile(parse.GetValue(spec)!.FullName);
            var loaded = DataSources.Load(parse.GetValue(data)!, model, parse.GetValue(label), parse.GetValue(limit));
            var lossName = parse.GetValue(loss) ?? DefaultLoss(model, loaded);
            var metricNames = (parse.GetValue(metrics) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
            var opt = Optimizer(parse.GetValue(optimizer)!, parse.GetValue(lr));
            var settings = new TrainingSettings(opt.Name, opt.LearningRate, lossName, metricNames);
            var target = parse.GetValue(output)!.FullName;
            var stderr = parse.InvocationConfiguration.Error;
            using var trainer = new Trainer(model, Device(parse.GetValue(device)!), parse.GetValue(seed));
            trainer.Compile(opt, lossName, metricNames);
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
                OnnxModels.Save(model.ToOnnx(new ExportOptions { Metadata = Metadata(model, loaded, lossName) }), Path.Combine(tmp, "model.onnx"));
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
        var command = new Command("predict", "Print the model's predictions, one line per sample (class and probability for classifiers)") { dir, data, label, limit };
        command.SetAction(parse => ModelCommands.Guarded(parse, () =>
        {
            var root = parse.GetValue(dir)!.FullName;
            var onnxPath = Path.Combine(root, "model.onnx");
            var proto = OnnxModels.Load(Required(onnxPath));
            var meta = proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
            var model = KerasModelJson.ReadFile(Required(Path.Combine(root, "model.json")));
            float? scale = meta.TryGetValue(ScaleKey, out var s) ? float.Parse(s, CultureInfo.InvariantCulture) : null;
            var loaded = DataSources.Load(parse.GetValue(data)!, model, parse.GetValue(label), parse.GetValue(limit), scale, needLabels: false);
            var classes = meta.TryGetValue(ClassNamesKey, out var c) ? JsonSerializer.Deserialize<string[]>(c) : null;
            using var session = new InferenceSession(onnxPath);
            var input = session.InputMetadata.Single();
            var x = loaded.Data.Features;
            var width = DataSources.OutputWidth(model);
            var classifier = DataSources.IsClassifier(model);
            for (var start = 0; start < x.Count; start += 256)
            {
                var part = x.Slice(start, Math.Min(256, x.Count - start));
                int[] dims = [part.Count, .. part.SampleShape];
                var feed = input.Value.ElementDataType == TensorElementType.Int64
                    ? NamedOnnxValue.CreateFromTensor(input.Key, new DenseTensor<long>(part.ToInt64(), dims))
                    : NamedOnnxValue.CreateFromTensor(input.Key, new DenseTensor<float>(part.ToFloat32(), dims));
                using var results = session.Run([feed]);
                var y = results.First().AsTensor<float>().ToArray();
                for (var r = 0; r < part.Count; r++)
                {
                    var row = y.AsSpan(r * width, width);
                    string line;
                    if (classifier && width > 1)
                    {
                        var best = 0;
                        for (var k = 1; k < width; k++) if (row[k] > row[best]) best = k;
                        line = $"{{\"index\":{start + r},\"class\":{best},\"name\":{JsonSerializer.Serialize(classes is not null && best < classes.Length ? classes[best] : null)},\"probability\":{DataSources.Format(row[best])}}}";
                    }
                    else if (classifier)
                        line = $"{{\"index\":{start + r},\"class\":{(row[0] >= 0.5f ? 1 : 0)},\"probability\":{DataSources.Format(row[0])}}}";
                    else
                        line = $"{{\"index\":{start + r},\"value\":[{string.Join(",", row.ToArray().Select(v => DataSources.Format(v)))}]}}";
                    stdout.WriteLine(line);
                }
            }
        }));
        return command;
    }

    // ---------------------------------------------------------------- helpers

    internal sealed record TrainingSettings(string Optimizer, double LearningRate, string Loss, IReadOnlyList<string> Metrics)
    {
        public float Scale { get; init; } = 1f;
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
            trainer.Compile(Optimizer(settings.Optimizer, settings.LearningRate), settings.Loss, settings.Metrics);
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

    private static OptimizerSpec Optimizer(string name, double? lr)
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

    /// <summary>Sparse cross-entropy for class-index labels, categorical for one-hot, binary for one sigmoid unit, else MSE.</summary>
    private static string DefaultLoss(Model model, LoadedData data)
    {
        var width = DataSources.OutputWidth(model);
        var labels = data.Data.Labels!;
        if (width > 1 && DataSources.IsClassifier(model))
            return labels.SampleSize == 1 ? "sparse_categorical_crossentropy" : "categorical_crossentropy";
        return DataSources.IsClassifier(model) ? "binary_crossentropy" : "mse";
    }

    private static Dictionary<string, string> Metadata(Model model, LoadedData data, string loss)
    {
        var input = model.Inputs.Single();
        var output = model.Outputs.Single();
        static string Dims(Graph.Core.Shape s) => "[" + string.Join(",", s.Dims.Select(d => d.IsKnown ? d.Known.ToString(CultureInfo.InvariantCulture) : "null")) + "]";
        var meta = new Dictionary<string, string>
        {
            ["neuralservice.input"] = model.InputNames[0],
            ["neuralservice.input_shape"] = Dims(input.Shape),
            ["neuralservice.output"] = model.OutputNames[0],
            ["neuralservice.output_shape"] = Dims(output.Shape),
            ["neuralservice.loss"] = loss,
            [ScaleKey] = data.Scale.ToString("R", CultureInfo.InvariantCulture),
            ["neuralservice.preprocessing"] = data.Scale == 1f ? "none" : $"x * {data.Scale.ToString("R", CultureInfo.InvariantCulture)}",
        };
        if (data.ClassNames is { } names) meta[ClassNamesKey] = JsonSerializer.Serialize(names);
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
