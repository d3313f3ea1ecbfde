using System.CommandLine;
using System.Globalization;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Training;
using NeuralService.Training;
using NeuralService.Training.Callbacks;
using NeuralService.Training.Execution;

namespace NeuralService.Cli.Commands;

/// <summary><c>neural train</c>, <c>neural evaluate</c> and <c>neural predict</c>. A trained directory holds
/// <c>model.json</c> (config), <c>model.onnx</c> (inference graph, trained weights, signature and preprocessing in
/// metadata_props), <c>checkpoint.npz</c>, <c>training.json</c> (compile settings), <c>history.json</c> and
/// <c>history.png</c>.</summary>
public static class TrainCommands
{
    private static Option<string> DataOption() => new("--data") { Description = DataSources.Help, Required = true };
    private static Option<string?> LabelOption() => new("--label") { Description = "CSV label column (default: the last)" };
    private static Option<int?> LimitOption() => new("--limit") { Description = "Use only the first n samples" };
    private static Option<string> DeviceOption() => new("--device") { Description = "auto, cpu, cuda or cuda:N (the GPU with index N); cuda+graphs replays each train step as a CUDA graph", DefaultValueFactory = _ => "auto" };

    public static Command Train(TextWriter stdout)
    {
        var spec = new Argument<FileInfo?>("model.json") { Description = "Keras model config (model.to_json()); not with --resume", Arity = ArgumentArity.ZeroOrOne };
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
        var seed = new Option<int>("--seed") { Description = "Seed for the initial weights, dropout and shuffling" };
        var output = new Option<DirectoryInfo?>("--out") { Description = "Directory to write (required unless --resume: then the resumed directory)" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the --out directory if it exists (by default an existing run is kept and training refused)" };
        var rescale = RescaleOption();
        var command = new Command("train", "Train a model config on a dataset and write the trained model, checkpoint and history")
            { spec, data, label, limit, epochs, batch, optimizer, lr, loss, lossWeights, metrics, split, device, seed, output, overwrite, rescale };
        var extra = new TrainCallbackOptions();
        foreach (var o in extra.All) command.Options.Add(o);
        command.SetAction(parse => ModelCommands.Guarded(parse, () =>
        {
            var resume = parse.GetValue(extra.Resume)?.FullName;
            var target = parse.GetValue(output)?.FullName ?? resume ?? throw new ArgumentException("--out DIR is required: the directory the trained model is written to");
            // Checked before any work: a finished run is not replaced by accident, nor found out after an hour of training.
            if (target != resume && !parse.GetValue(overwrite) && (File.Exists(target) || Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any()))
                throw new ArgumentException($"--out '{parse.GetValue(output)}' already exists; pass --overwrite to replace it, or choose another directory");
            if (resume is not null)
            {
                Resume(parse, resume, extra, stdout, target, [optimizer, lr, loss, lossWeights, metrics], parse.GetValue(spec),
                    new FitArguments(data, label, limit, epochs, batch, split, device, seed, rescale));
                return;
            }
            var model = KerasModelJson.ReadFile((parse.GetValue(spec) ?? throw new ArgumentException("give the Keras model config (model.json), or --resume DIR to continue a run")).FullName);
            var outputs = model.OutputNames;
            var explicitLosses = OutputArguments.Losses(parse.GetValue(loss))?.Resolve(outputs, "--loss");
            var weights = OutputArguments.Weights(parse.GetValue(lossWeights))?.Resolve(outputs, "--loss-weights", _ => 1.0);
            var metricLists = OutputArguments.Metrics(parse.GetValue(metrics)).Resolve(outputs, "--metrics", _ => []);
            var opt = Optimizer(parse.GetValue(optimizer)!, parse.GetValue(lr));
            var single = outputs.Count == 1;
            TrainingSettings Settings(IReadOnlyList<string> lossNames) =>
                new(opt.Name, opt.LearningRate, OutputArguments.Format(outputs, lossNames, l => l), single ? metricLists[0] : [])
                {
                    Losses = single ? null : outputs.Zip(lossNames).ToDictionary(),
                    LossWeights = weights is null ? null : outputs.Zip(weights).ToDictionary(),
                    OutputMetrics = single ? null : outputs.Zip(metricLists).ToDictionary(),
                };
            var expected = explicitLosses ?? outputs.Select((_, i) => DefaultLoss(model, null, i)).ToList();
            var settings = Settings(expected);
            var deviceOptions = Device(parse.GetValue(device)!);
            // The data loads on another core while the training graph and its session are built for the losses it is
            // expected to need; should its labels call for other defaults, the trainer is compiled again.
            var loading = Task.Run(() => DataSources.Load(parse.GetValue(data)!, model, parse.GetValue(label), parse.GetValue(limit)));
            using var trainer = new Trainer(model, deviceOptions, parse.GetValue(seed));
            // A failure here stands only if the data confirms the expected losses (a data error comes first, as before).
            ExceptionDispatchInfo? early = null;
            try
            {
                settings.Compile(trainer);
                // While the data still loads, the first step's one-off cost is paid too (a discarded step).
                if (!loading.IsCompleted && parse.GetValue(batch) is > 0 and var size) trainer.WarmUp(size);
                else trainer.Prepare();
            }
            catch (Exception e) when (e is not OutOfMemoryException) { early = ExceptionDispatchInfo.Capture(e); }
            var loaded = loading.GetAwaiter().GetResult();
            var lossNames = explicitLosses ?? outputs.Select((_, i) => DefaultLoss(model, loaded, i)).ToList();
            if (!lossNames.SequenceEqual(expected))
            {
                settings = Settings(lossNames);
                settings.Compile(trainer);
            }
            else early?.Throw();
            FitAndWrite(parse, extra, stdout, target, model, settings, trainer, loaded, new History(), new FitArguments(data, label, limit, epochs, batch, split, device, seed, rescale));
        }));
        return command;
    }

    /// <summary>The options <see cref="FitAndWrite"/> reads, besides the callbacks.</summary>
    private sealed record FitArguments(Option<string> Data, Option<string?> Label, Option<int?> Limit, Option<int> Epochs, Option<int> Batch,
        Option<double> Split, Option<string> Device, Option<int> Seed, Option<double?> Rescale);

    /// <summary><c>--resume DIR</c>: the run's model, compile settings, weights and optimizer state, trained on from the
    /// epochs it has done (Keras's <c>initial_epoch</c>) up to <c>--epochs</c> in total, its history continued.</summary>
    private static void Resume(ParseResult parse, string root, TrainCallbackOptions extra, TextWriter stdout, string target, Option[] compileOptions,
        FileInfo? spec, FitArguments a)
    {
        if (spec is not null) throw new ArgumentException("give either model.json or --resume DIR, not both: a resumed run keeps the model of DIR/model.json");
        foreach (var o in compileOptions)
            if (parse.GetResult(o) is { Implicit: false }) throw new ArgumentException($"{o.Name} cannot be changed by --resume: the run keeps the compile settings of {Path.Combine(root, "training.json")}");
        var earlier = TrainCallbackOptions.ReadHistory(Path.Combine(root, "history.json"));
        var (model, settings, trainer) = Restore(root, Device(parse.GetValue(a.Device)!), parse.GetValue(a.Seed));
        using (trainer)
        {
            var loaded = DataSources.Load(parse.GetValue(a.Data)!, model, parse.GetValue(a.Label), parse.GetValue(a.Limit));
            FitAndWrite(parse, extra, stdout, target, model, settings, trainer, loaded, earlier, a);
        }
    }

    /// <summary>Fits from the epochs <paramref name="earlier"/> holds, with the callbacks asked for, and writes the run's directory.</summary>
    private static void FitAndWrite(ParseResult parse, TrainCallbackOptions extra, TextWriter stdout, string target, Model model, TrainingSettings settings,
        Trainer trainer, LoadedData loaded, History earlier, FitArguments a)
    {
        var stderr = parse.InvocationConfiguration.Error;
        var epochCount = Positive(parse.GetValue(a.Epochs), "--epochs");
        var initialEpoch = earlier.Epochs.Count == 0 ? 0 : earlier.Epochs[^1] + 1;
        if (initialEpoch > 0 && epochCount <= initialEpoch)
            throw new ArgumentException($"--epochs is the total number of epochs and the run has done {initialEpoch} already: pass --epochs {initialEpoch + 1} or more");
        var split = parse.GetValue(a.Split);
        var validation = parse.GetValue(extra.ValidationData) is { } vd ? DataSources.Load(vd, model, parse.GetValue(a.Label)).Data : null;
        if (validation is not null && split > 0) throw new ArgumentException("give --validation-split or --validation-data, not both");
        var staging = Directory.CreateTempSubdirectory("neural-train-");
        try
        {
            var bestPath = Path.Combine(staging.FullName, "best.npz");
            var callbacks = extra.Build(parse, split > 0 || validation is not null, bestPath);
            var history = trainer.Fit(loaded.Data, new FitOptions
            {
                Epochs = epochCount,
                BatchSize = Positive(parse.GetValue(a.Batch), "--batch-size"),
                ValidationSplit = split,
                ValidationData = validation,
                InitialEpoch = initialEpoch,
                Callbacks = callbacks,
                Output = stderr,
                Rescale = parse.GetValue(a.Rescale),
            });
            settings = settings with { Scale = UniformScale(trainer.Preprocessing), Rescale = parse.GetValue(a.Rescale) ?? settings.Rescale };
            var done = history.Epochs.Count == 0 ? initialEpoch : history.Epochs[^1] + 1;
            history = TrainCallbackOptions.Concat(earlier, history);
            WriteAtomically(target, tmp =>
            {
                // The chart renders on another core while the model and checkpoint are written.
                var plot = Task.Run(() => HistoryPlot.Save(history, Path.Combine(tmp, "history.png"), model.Name));
                try
                {
                    // Scale folded into the graph and recorded with the class names (PreprocessingContract).
                    OnnxModels.Save(trainer.ToOnnx(new ExportOptions { Metadata = Metadata(model, settings) }), Path.Combine(tmp, "model.onnx"));
                    File.WriteAllText(Path.Combine(tmp, "model.json"), KerasModelJson.Write(model));
                    trainer.SaveCheckpoint(Path.Combine(tmp, "checkpoint.npz"), done);
                    File.WriteAllText(Path.Combine(tmp, "training.json"), JsonSerializer.Serialize(settings, JsonOptions));
                    File.WriteAllText(Path.Combine(tmp, "history.json"), history.ToJson());
                }
                finally
                {
                    // Not before the chart is done with the directory (the write's own error, if any, is the one reported).
                    ((IAsyncResult)plot).AsyncWaitHandle.WaitOne();
                }
                plot.GetAwaiter().GetResult();
                if (File.Exists(bestPath))
                {
                    // Last, as it loads the best epoch's weights over the final ones written above.
                    File.Copy(bestPath, Path.Combine(tmp, "best.npz"));
                    trainer.LoadCheckpoint(bestPath);
                    OnnxModels.Save(trainer.ToOnnx(new ExportOptions { Metadata = Metadata(model, settings) }), Path.Combine(tmp, "best.onnx"));
                }
            });
            var last = history.Values.ToDictionary(kv => kv.Key, kv => kv.Value[^1]);
            var stopped = TrainCallbackOptions.Summary(callbacks) is { } s ? $"; {s}" : "";
            stdout.WriteLine($"wrote {target} ({history.Epochs.Count} epochs{stopped}; {string.Join(", ", last.Select(kv => $"{kv.Key} {kv.Value.ToString("F4", CultureInfo.InvariantCulture)}"))})");
        }
        finally { staging.Delete(recursive: true); }
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
                var loaded = DataSources.Load(parse.GetValue(data)!, model, parse.GetValue(label), parse.GetValue(limit));
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
        var source = new Argument<string?>("model")
        {
            Description = "An .onnx file (metadata from neural train or the registry used when present) or a directory written by neural train",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var data = DataOption();
        var label = LabelOption();
        var limit = new Option<int?>("--limit") { Description = "Predict only the first n samples", DefaultValueFactory = _ => 10 };
        var server = new Option<string?>("--server") { Description = "NeuralService URL (e.g. http://127.0.0.1:8080): predict with a registry model over HTTP instead of a file" };
        var registryModel = new Option<string?>("--model") { Description = "With --server: the registry model as name, name:version or name:alias (default: latest)" };
        var apiKey = new Option<string?>("--api-key") { Description = "With --server: API key sent as X-Api-Key (default: $NEURAL_API_KEY)" };
        var plot = new Option<FileInfo?>("--plot") { Description = "Also draw the predictions to this PNG: an image classifier's images with predicted (and, given labels, true) classes, another classifier's confusion matrix, or a regressor's actual vs predicted values" };
        var command = new Command("predict", "Print the model's predictions, one line per sample (class and probability for classifiers)")
            { source, data, label, limit, server, registryModel, apiKey, plot };
        command.SetAction(parse => ModelCommands.Guarded(parse, () =>
        {
            using var predictor = OpenPredictor(parse.GetValue(source), parse.GetValue(server), parse.GetValue(registryModel),
                parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("NEURAL_API_KEY"));
            // A model whose batch_shape fixes its batch size (stateful recurrent models) runs whole batches of it.
            var fixedBatch = predictor.FixedBatch;
            var shown = parse.GetValue(limit);
            var read = shown is { } l && fixedBatch is { } fb ? (l + fb - 1) / fb * fb : shown;
            var loaded = DataSources.LoadFeatures(parse.GetValue(data)!, predictor.Inputs, parse.GetValue(label), read);
            var plotted = parse.GetValue(plot) is { } plotFile ? new PredictionPlot.Collector(plotFile.FullName) : null;
            var inputs = loaded.Data.Inputs;
            var outputNames = predictor.OutputNames;
            var count = inputs.SampleCount;
            var chunk = fixedBatch ?? predictor.Chunk;
            if (count % chunk != 0 && fixedBatch is not null)
                throw new InvalidDataException($"the model takes batches of exactly {chunk} (its batch_shape) but the data has {count} samples");
            // Class names: the model's own (its preprocessing contract), else those of the data's folders or files.
            var classes = outputNames.Select((_, o) => predictor.ClassNames(o) ?? (outputNames.Count == 1 ? loaded.ClassNames : null)).ToList();
            for (var start = 0; start < count && (shown is null || start < shown); start += chunk)
            {
                var n = Math.Min(chunk, count - start);
                var ys = predictor.Run(Enumerable.Range(0, inputs.Count).Select(i => inputs[i].Slice(start, n)).ToList());
                plotted?.Add(ys[0], n, shown is null ? n : Math.Min(n, shown.Value - start));
                for (var r = 0; r < n && (shown is null || start + r < shown); r++)
                {
                    string Fields(int o)
                    {
                        // A classifier's row is its class scores; anything else (a sequence of them too) prints as values.
                        var width = ys[o].Length / n;
                        return Describe(ys[o].AsSpan(r * width, width), predictor.ClassCounts[o] == width, classes[o]);
                    }
                    stdout.WriteLine(outputNames.Count == 1
                        ? $"{{\"index\":{start + r},{Fields(0)}}}"
                        : $"{{\"index\":{start + r},\"outputs\":{{{string.Join(",", outputNames.Select((o, i) => $"{JsonSerializer.Serialize(o)}:{{{Fields(i)}}}"))}}}}}");
                }
            }
            if (plotted is not null)
            {
                var classifier = predictor.ClassCounts[0] is not null;
                plotted.Save(inputs[0], DataSources.LoadLabels(parse.GetValue(data)!, predictor.Inputs, parse.GetValue(label), read, classifier), classifier, classes[0]);
            }
        }));
        return command;
    }

    private static Predictor OpenPredictor(string? path, string? server, string? model, string? apiKey)
    {
        if (server is null)
        {
            if (model is not null) throw new ArgumentException("--model names a registry model; give --server too (or a file instead of --model)");
            return Predictor.Open(path ?? throw new ArgumentException("give a model: an .onnx file, a directory written by neural train, or --server URL --model name[:version]"));
        }
        if (path is not null) throw new ArgumentException($"give either a model file ('{path}') or --server, not both");
        return new HttpPredictor(server, model ?? throw new ArgumentException("--server needs --model name[:version|alias]"), apiKey);
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>One sample's prediction of one output: class, name and probability for a classifier, else the values.</summary>
    private static string Describe(ReadOnlySpan<float> row, bool classifier, IReadOnlyList<string>? classes)
    {
        if (classifier && row.Length > 1)
        {
            var best = 0;
            for (var k = 1; k < row.Length; k++) if (row[k] > row[best]) best = k;
            return $"\"class\":{best},\"name\":{JsonSerializer.Serialize(classes is not null && best < classes.Count ? classes[best] : null)},\"probability\":{DataSources.Format(row[best])}";
        }
        if (classifier) return $"\"class\":{(row[0] >= 0.5f ? 1 : 0)},\"probability\":{DataSources.Format(row[0])}";
        return $"\"value\":[{string.Join(",", row.ToArray().Select(v => DataSources.Format(v)))}]";
    }

    /// <summary>What <c>evaluate</c> recompiles with. <see cref="Loss"/> and <see cref="Metrics"/> serve every output of
    /// a one-output model; a model with several outputs has them by output name in <see cref="Losses"/> and
    /// <see cref="OutputMetrics"/> (<see cref="Loss"/> then holds the <c>--loss</c> form, <c>a=mse,b=mae</c>).</summary>
    internal sealed record TrainingSettings(string Optimizer, double LearningRate, string Loss, IReadOnlyList<string> Metrics)
    {
        /// <summary>The input scale when every float input has the same one (informational: model.onnx holds the contract).</summary>
        public float Scale { get; init; } = 1f;
        /// <summary>The <c>--rescale</c> given to train, null for the default rule.</summary>
        public double? Rescale { get; init; }
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
    internal static (Model Model, TrainingSettings Settings, Trainer Trainer) Restore(string root, DeviceOptions device, int seed = 0)
    {
        var model = KerasModelJson.ReadFile(Required(Path.Combine(root, "model.json")));
        var settings = JsonSerializer.Deserialize<TrainingSettings>(File.ReadAllText(Required(Path.Combine(root, "training.json"))), JsonOptions)
            ?? throw new InvalidDataException($"{root}/training.json is empty");
        var trainer = new Trainer(model, device, seed);
        try
        {
            settings.Compile(trainer);
            var onnx = Path.Combine(root, "model.onnx");
            if (File.Exists(onnx)) trainer.Preprocessing = PreprocessingContract.FromOnnx(OnnxModels.Load(onnx));
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

    private static Option<double?> RescaleOption() => new("--rescale")
    {
        Description = "Multiply every float input by this before the model (default: 1/255 for 8-bit data — images, IDX, fashion-mnist, " +
            "uint8 NPY/NPZ — else 1); folded into model.onnx, which then takes raw values",
    };

    private static float UniformScale(PreprocessingContract? contract) =>
        contract?.Inputs.Values.Select(s => s.Scale).Distinct().ToList() is [var one] ? one : 1f;

    private static DeviceOptions Device(string name)
    {
        try { return DeviceOptions.Parse(name); }
        catch (ArgumentException e) { throw new InvalidDataException(e.Message); }
    }

    private static int Positive(int value, string option) =>
        value > 0 ? value : throw new InvalidDataException($"{option} must be positive, got {value}");

    /// <summary>Sparse cross-entropy for class-index labels, categorical for one-hot, binary for one sigmoid unit, else
    /// MSE — for output <paramref name="output"/> and its labels (sparse while <paramref name="data"/> is not loaded).</summary>
    private static string DefaultLoss(Model model, LoadedData? data, int output)
    {
        var width = DataSources.OutputWidth(model, output);
        var classifier = DataSources.IsClassifier(model, output);
        if (width > 1 && classifier)
            return data?.Data.Targets![output] is not { } labels || labels.SampleSize == 1 || labels.Rank < model.Outputs[output].Shape.Rank
                ? "sparse_categorical_crossentropy" : "categorical_crossentropy";
        return classifier ? "binary_crossentropy" : "mse";
    }

    /// <summary>Input and output names and shapes (comma-separated names and a list of shapes when there are several) and
    /// losses; the trainer adds the preprocessing contract (scale, input range, class names).</summary>
    private static Dictionary<string, string> Metadata(Model model, TrainingSettings settings)
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
        };
        if (settings.LossWeights is { } w)
            meta["neuralservice.loss_weights"] = OutputArguments.Format(model.OutputNames, model.OutputNames.Select(o => w[o]).ToList(), v => v.ToString("R", CultureInfo.InvariantCulture));
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
