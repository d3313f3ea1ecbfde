using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Training;
using NeuralService.Training.Callbacks;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;
using NeuralService.Training.Metrics;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Training;

/// <summary>Keras's workflow on ONNX Runtime: <see cref="Compile"/>, <see cref="Fit(InMemoryDataset, FitOptions?)"/>,
/// <see cref="Evaluate"/>, <see cref="Predict"/>. One train step is one session run of the compiled step graph;
/// parameters and optimizer state stay in ONNX Runtime buffers between steps (<see cref="StepSession"/>) and are
/// copied back to the model's weights when training ends.</summary>
public sealed class Trainer : ITrainingControl, IDisposable
{
    private readonly DeviceOptions _device;
    private readonly int _seed;
    private OptimizerSpec? _optimizer;
    // One loss per model output, its loss weight in LossSpec.Weight.
    private IReadOnlyList<LossSpec> _losses = [];
    // Per output: metrics the graph computes, and those it has no op form for (precision, AUC…), computed here from
    // the fetched predictions.
    private IReadOnlyList<IReadOnlyList<string>> _metrics = [];
    private IReadOnlyList<IReadOnlyList<string>> _hostMetrics = [];
    private CompiledGraph? _train;
    private CompiledGraph? _eval;
    private StepSession? _session;
    // Built at the first Evaluate after each compile and kept: a validation pass every epoch would otherwise pay
    // ONNX Runtime's session creation (graph optimization) each time.
    private InferenceSession? _evalSession;
    private long _step;
    private int _epoch;
    // Batches are converted into these (one buffer per input, grown to the largest batch) and copied into the bound
    // inputs, instead of a new array per step: at 64×28×28 floats each would be a 200 kB large-object allocation.
    private readonly FeedStaging _staging = new();
    private double? _rescale;

    /// <param name="seed">Seeds the initial weights not drawn yet (none read, assigned, loaded or trained; seed 0 draws
    /// each from its path alone), dropout masks and shuffles.</param>
    public Trainer(Model model, DeviceOptions? device = null, int seed = 0)
    {
        Model = model;
        foreach (var w in model.Weights) w.SeedInitializer(seed);
        _device = device ?? new DeviceOptions();
        _seed = seed;
        InputNames = model.InputNames;
        OutputNames = model.OutputNames;
    }

    public Model Model { get; }
    /// <summary>The model's input and output names: what data arrays given by name are matched against.</summary>
    public IReadOnlyList<string> InputNames { get; }
    public IReadOnlyList<string> OutputNames { get; }
    /// <summary>The compiled loss of each output, in output order (empty before <c>Compile</c>).</summary>
    public IReadOnlyList<LossSpec> Losses => _losses;
    public double LearningRate { get; set; }
    public bool StopTraining { get; set; }
    public int Epochs { get; private set; }
    public long Step => _step;
    /// <summary>The input scaling and output meaning the model is trained with (see <see cref="PreprocessingContract"/>).
    /// Null until set, or until the first <c>Fit</c>, <c>Evaluate</c> or <c>Predict</c> resolves it from its data by the
    /// contract's rule (1/255 for 8-bit inputs, or <see cref="FitOptions.Rescale"/>); kept afterwards, so later calls
    /// and the exported model (<see cref="ToOnnx"/>) treat data the same way.</summary>
    public PreprocessingContract? Preprocessing { get; set; }

    /// <summary>The device the step runs on, and why (one line for the logs).</summary>
    public string? DeviceReport => _session is null ? null : $"{_session.Device}: {_session.DeviceReason}";

    /// <summary>One loss for every output, and <paramref name="metrics"/> for every output.</summary>
    public void Compile(OptimizerSpec optimizer, LossSpec loss, IReadOnlyList<string>? metrics = null) =>
        Compile(optimizer, PerOutput.All(loss), metrics);

    /// <summary>One loss for every output, or one per output in output order.</summary>
    public void Compile(OptimizerSpec optimizer, IReadOnlyList<LossSpec> losses, IReadOnlyList<string>? metrics = null, IReadOnlyList<double>? lossWeights = null) =>
        Compile(optimizer, losses.Count == 1 ? PerOutput.All(losses[0]) : PerOutput.ByOrder(losses), metrics,
            lossWeights is null ? null : PerOutput.ByOrder(lossWeights));

    /// <summary>Keras's <c>compile(loss, metrics, loss_weights)</c> with <paramref name="metrics"/> applied to every output.</summary>
    public void Compile(OptimizerSpec optimizer, PerOutput<LossSpec> loss, IReadOnlyList<string>? metrics = null, PerOutput<double>? lossWeights = null) =>
        Compile(optimizer, loss, PerOutput.All(metrics ?? []), lossWeights);

    /// <summary>Keras's <c>compile</c> for any number of outputs: <paramref name="loss"/>, <paramref name="metrics"/> and
    /// <paramref name="lossWeights"/> each one value for every output, a list in output order or a dict by output name
    /// (a dict may leave outputs out: no metrics, loss weight 1). The total loss is Σ weight·loss + regularization; the logs
    /// name each output's quantities <c>{output}_loss</c>, <c>{output}_{metric}</c> as Keras's do.</summary>
    public void Compile(OptimizerSpec optimizer, PerOutput<LossSpec> loss, PerOutput<IReadOnlyList<string>>? metrics, PerOutput<double>? lossWeights = null)
    {
        var outputs = OutputNames;
        var losses = loss.Resolve(outputs, "loss");
        if (lossWeights is not null)
        {
            var weights = lossWeights.Resolve(outputs, "loss_weights", _ => 1.0);
            for (var i = 0; i < weights.Count; i++)
                if (!double.IsFinite(weights[i]) || weights[i] < 0)
                    throw new ArgumentException($"loss_weights: the weight of output '{outputs[i]}' must be finite and non-negative, got {weights[i]}");
            losses = losses.Select((l, i) => l with { Weight = weights[i] }).ToList();
        }
        var perOutput = (metrics ?? PerOutput.All<IReadOnlyList<string>>([])).Resolve(outputs, "metrics", _ => []);
        var graph = new List<IReadOnlyList<string>>();
        var host = new List<IReadOnlyList<string>>();
        for (var i = 0; i < outputs.Count; i++)
        {
            graph.Add(perOutput[i].Where(m => IsGraphMetric(m, losses[i])).ToList());
            host.Add(perOutput[i].Where(m => !IsGraphMetric(m, losses[i])).ToList());
            foreach (var m in host[^1])
            {
                try { MetricFactory.Create(m, losses[i].Name); }
                catch (ArgumentException e) { throw new ArgumentException($"metrics: {e.Message}{(outputs.Count > 1 ? $" for output '{outputs[i]}'" : "")}", e); }
            }
        }
        _optimizer = optimizer;
        _losses = losses;
        _metrics = graph;
        _hostMetrics = host;
        LearningRate = optimizer.LearningRate;
        DisposeSession();
        _train = _eval = null;
        // As Keras's compile makes a new optimizer, its state (dropped with the session) and its iteration count
        // (Adam's bias correction) start over: fine-tuning after a first fit takes full first steps.
        _step = 0;
    }

    public History Fit(InMemoryDataset data, FitOptions? options = null)
    {
        options ??= new FitOptions();
        if (FixedBatch() is var (input, size) && options.BatchSize != size)
            throw new ArgumentException($"the model's input '{input}' takes batches of exactly {size} (its batch_shape); fit with batch size {size}, got {options.BatchSize}");
        Validate(data, "training data");
        if (options.ValidationData is { } v) Validate(v, "validation data");
        ResolvePreprocessing(data.Inputs, data.ClassNames, options.Rescale);
        var (train, validation) = options.ValidationSplit > 0 ? data.Split(options.ValidationSplit) : (data, options.ValidationData);
        if (options.ClassWeight is { } cw && train.Targets is { } targets)
        {
            if (targets.Count != 1) throw new ArgumentException($"class_weight needs a model with one output; this one has {targets.Count} (use sample weights)");
            train = new InMemoryDataset(train.Inputs, targets, ClassSampleWeights(targets[0], cw, train.SampleWeights), train.ClassNames);
        }
        return Fit(new BatchIterator(train, options.BatchSize, options.Shuffle, _seed) { ReuseBatches = true },
            validation is null ? null : new BatchIterator(validation, options.BatchSize) { ReuseBatches = true }, options, train.SampleWeights is not null);
    }

    /// <summary>Trains on batches from <paramref name="train"/> (streamed or in memory).</summary>
    public History Fit(IDataset train, IDataset? validation, FitOptions options, bool sampleWeights = false)
    {
        EnsureSession(sampleWeights);
        // A stream's preprocessing is resolved from its first batch (BatchFeeds).
        if (Preprocessing is not null && options.Rescale is { } rescale) CheckRescale(rescale);
        _rescale = options.Rescale;
        var output = options.Output ?? Console.Error;
        var history = new History();
        Epochs = options.Epochs;
        StopTraining = false;
        var startEpoch = options.InitialEpoch;
        foreach (var b in options.Callbacks.OfType<BackupAndRestore>())
            if (b.ResumeFrom is { } resume) startEpoch = LoadCheckpoint(resume);
        foreach (var c in options.Callbacks) c.OnTrainBegin(this);
        Dictionary<string, double> logs = [];
        // Batches read from files or decoded are prepared on another thread while a step runs; in-memory batches are
        // cheaper than the contention that thread adds on a small CPU (bench fit, 2 cores: −17% at batch 64 with it,
        // within noise of the bare step without it).
        var prefetched = train is BatchIterator ? train : train.Prefetch(2);
        for (_epoch = startEpoch; _epoch < options.Epochs && !StopTraining; _epoch++)
        {
            ResetStates();
            foreach (var c in options.Callbacks) c.OnEpochBegin(this, _epoch);
            if (options.Verbose > 0) output.WriteLine($"Epoch {_epoch + 1}/{options.Epochs}");
            var bar = new ProgressBar(output, train.BatchCount, options.Verbose == 1 && ProgressBar.IsTerminal(output));
            var sums = new Dictionary<string, double>(StringComparer.Ordinal);
            var host = HostMetrics();
            double seen = 0;
            var index = 0;
            foreach (var batch in prefetched.GetBatches(_epoch))
            {
                var (fetched, predictions) = RunStep(batch);
                seen += batch.Count;
                for (var i = 0; i < fetched.Count; i++)
                    sums[fetched[i].Name] = sums.GetValueOrDefault(fetched[i].Name) + fetched[i].Value * batch.Count;
                UpdateHost(host, batch, predictions);
                logs = sums.ToDictionary(kv => kv.Key, kv => kv.Value / seen);
                foreach (var m in host) logs[m.Name] = m.Metric.Result();
                index++;
                foreach (var c in options.Callbacks) c.OnBatchEnd(this, index - 1, train.BatchCount ?? -1, logs);
                if (options.Verbose == 1) bar.Update(index, logs);
                if (StopTraining) break;
            }
            if (validation is not null)
                foreach (var (k, v) in Evaluate(validation)) logs["val_" + k] = v;
            // As Keras 3 logs it when a callback steers the rate: the rate this epoch trained with.
            if (options.Callbacks.Any(c => c is ReduceLROnPlateau or LearningRateScheduler)) logs["learning_rate"] = LearningRate;
            if (options.Verbose > 0) bar.Update(index, logs, final: true);
            history.Add(_epoch, logs);
            foreach (var c in options.Callbacks) c.OnEpochEnd(this, _epoch, logs);
        }
        SyncWeightsToModel();
        foreach (var c in options.Callbacks) c.OnTrainEnd(this, logs);
        return history;
    }

    /// <summary>Sets <see cref="Preprocessing"/> from <paramref name="inputs"/> by the contract's rule unless it is set;
    /// an explicit <paramref name="rescale"/> must then agree with it.</summary>
    private void ResolvePreprocessing(DataArrays inputs, IReadOnlyList<string>? classNames, double? rescale)
    {
        if (Preprocessing is null) Preprocessing = PreprocessingContract.Resolve(Model, _losses, inputs, classNames, rescale);
        else if (rescale is { } r) CheckRescale(r);
    }

    private void CheckRescale(double rescale)
    {
        var differ = Preprocessing!.Inputs.Where(kv => kv.Value.Scale != (float)rescale).Select(kv => $"'{kv.Key}' {kv.Value.Scale}").ToList();
        if (differ.Count > 0)
            throw new ArgumentException($"rescale {rescale} differs from the scale this trainer already uses for input {string.Join(", ", differ)}; " +
                "a model is trained and served with one scale (set Trainer.Preprocessing before the first Fit to change it)");
    }

    /// <summary>Zeros the carried state of stateful recurrent layers, in the model and in the running train step
    /// (Keras's <c>reset_states</c>); <see cref="Fit(IDataset, IDataset?, FitOptions, bool)"/> does it as each epoch begins.</summary>
    public void ResetStates()
    {
        Model.ResetStates();
        if (_session is null || _train is null) return;
        var carried = Model.CarriedStates.ToHashSet();
        foreach (var p in _train.Signature.State.Where(p => p.Weight is { } w && carried.Contains(w)))
            _session.WriteState(p.Input, new float[p.Weight!.Size]);
    }

    /// <summary>Loss and metrics over <paramref name="data"/> with inference behaviour (Keras's <c>evaluate</c>).</summary>
    public IReadOnlyDictionary<string, double> Evaluate(IDataset data)
    {
        EnsureSession(false);
        var eval = _eval!;
        if (_evalSession is null)
        {
            using var options = Devices.Create(_device with { CudaGraphs = false }, out _, out _);
            _evalSession = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(eval.Model), options);
        }
        var session = _evalSession;
        // Carried tensors are read where the step session keeps them (no copy of the weights per evaluation). A weight
        // the training-mode forward never reads (a recurrent kernel over one step from a zero state) is not carried by
        // the step session; the eval graph still takes it, at the model's value.
        var carried = _session!.StateNames.ToHashSet(StringComparer.Ordinal);
        var initial = eval.Signature.Persistent.ToDictionary(p => p.Input, p => p, StringComparer.Ordinal);
        var names = new List<string>();
        var values = new List<OrtValue>();
        var owned = new List<OrtValue>();
        var outputNames = session.OutputNames;
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        var host = HostMetrics();
        double seen = 0;
        using var run = new RunOptions();
        try
        {
            foreach (var i in eval.Signature.Inputs.Where(i => i.Role is TensorRole.Parameter or TensorRole.State))
            {
                names.Add(i.Name);
                if (carried.Contains(i.Name)) values.Add(_session.StateValue(i.Name));
                else
                {
                    owned.Add(OrtValue.CreateTensorValueFromMemory(initial[i.Name].Initial(), i.Shape.ToArray()));
                    values.Add(owned[^1]);
                }
            }
            var held = names.Count;
            foreach (var batch in data.GetBatches(0))
            {
                names.RemoveRange(held, names.Count - held);
                values.RemoveRange(held, values.Count - held);
                foreach (var feed in BatchFeeds(eval.Signature, batch))
                {
                    names.Add(feed.Name);
                    values.Add(feed.ToOrtValue());
                }
                try
                {
                    using var results = session.Run(run, names, values, outputNames);
                    if (eval.Signature.PredictionOutputs.Count > 0)
                        UpdateHost(host, batch, eval.Signature.PredictionOutputs.Select(p => results[IndexOf(outputNames, p)].GetTensorDataAsSpan<float>().ToArray()).ToList());
                    for (var k = 0; k < outputNames.Count; k++)
                        if (eval.Signature.LogNames.TryGetValue(outputNames[k], out var name))
                            sums[name] = sums.GetValueOrDefault(name) + results[k].GetTensorDataAsSpan<float>()[0] * batch.Count;
                }
                finally
                {
                    for (var k = held; k < values.Count; k++) values[k].Dispose();
                }
                seen += batch.Count;
            }
        }
        finally
        {
            foreach (var v in owned) v.Dispose();
        }
        var result = sums.ToDictionary(kv => kv.Key, kv => seen == 0 ? double.NaN : kv.Value / seen);
        foreach (var m in host) result[m.Name] = seen == 0 ? double.NaN : m.Metric.Result();
        return result;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first metric neither the graph nor the host knows.</summary>
    public static void CheckMetrics(IEnumerable<string> metrics, LossSpec loss)
    {
        foreach (var m in metrics)
            if (!IsGraphMetric(m, loss)) MetricFactory.Create(m, loss.Name);
    }

    private static bool IsGraphMetric(string name, LossSpec loss)
    {
        try
        {
            NeuralService.Graph.Training.Metrics.Canonical(name, loss);
            return true;
        }
        catch (ArgumentException) { return false; }
    }

    /// <summary>A host-side metric of one output, under its log name.</summary>
    private sealed record HostMetric(int Output, string Name, Metric Metric);

    private List<HostMetric> HostMetrics()
    {
        var outputs = OutputNames;
        return _hostMetrics.SelectMany((list, o) => list.Select(m =>
        {
            var metric = MetricFactory.Create(m, _losses[o].Name);
            return new HostMetric(o, TrainingGraph.LogName(outputs, o, metric.Name), metric);
        })).ToList();
    }

    private void UpdateHost(List<HostMetric> host, Batch batch, IReadOnlyList<float[]>? predictions)
    {
        if (host.Count == 0 || predictions is null || batch.Targets is null) return;
        var targets = batch.Targets.Match(OutputNames, "output");
        foreach (var group in host.GroupBy(h => h.Output))
        {
            var p = predictions[group.Key];
            var width = batch.Count == 0 ? 1 : p.Length / batch.Count;
            var metricBatch = new MetricBatch(targets[group.Key].ToFloat32(), p, batch.Count, width, batch.SampleWeights);
            foreach (var m in group) m.Metric.Update(metricBatch);
        }
    }

    /// <summary>Keras's <c>evaluate</c> in batches of <paramref name="batchSize"/> (the model's own batch size when its
    /// batch_shape fixes one: results do not depend on it).</summary>
    public IReadOnlyDictionary<string, double> Evaluate(InMemoryDataset data, int batchSize = 32) =>
        Evaluate(new BatchIterator(data, FixedBatch()?.Size ?? batchSize) { ReuseBatches = true });

    /// <summary>The batch size a model input's batch_shape fixes (Keras's stateful recurrent models), if any.</summary>
    private (string Input, int Size)? FixedBatch()
    {
        for (var i = 0; i < Model.Inputs.Count; i++)
            if (Model.Inputs[i].Shape is { Rank: > 0 } shape && shape[0].IsKnown) return (InputNames[i], (int)shape[0].Known);
        return null;
    }

    /// <summary>Model outputs for every sample (inference behaviour), one flat array per output, samples in order.</summary>
    public IReadOnlyList<float[]> Predict(DataArray x, int batchSize = 32) =>
        Predict(DataArrays.Of(x), batchSize).Select(a => a.As<float>()).ToList();

    /// <summary>Keras's <c>predict</c> for any number of inputs (by order or by name, as in <see cref="Fit(InMemoryDataset, FitOptions?)"/>):
    /// one float32 array per output, named by the model's output names, shaped [samples, ...] (inference behaviour).</summary>
    public DataArrays Predict(DataArrays x, int batchSize = 32)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive");
        batchSize = FixedBatch()?.Size ?? batchSize;
        var inputs = x.Match(InputNames, "input");
        if (Preprocessing is null) ResolvePreprocessing(x, null, null);
        // The exported model itself, scale folded in: it is fed the raw values, as a served model is.
        var onnx = ToOnnx();
        using var options = Devices.Create(_device with { CudaGraphs = false }, out _, out _);
        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(onnx), options);
        var names = InputNames;
        // Stateful recurrent layers: each batch starts from the state the previous one left, as Keras's predict does;
        // the model keeps the last state afterwards.
        var carried = Model.CarriedStates.Where(w => onnx.Graph.Input.Any(i => i.Name == w.Path) && session.OutputNames.Contains(w.Path + "/new")).ToList();
        var state = carried.ToDictionary(w => w.Path, w => w.Data.ToArray());
        var modelOutputs = session.OutputNames.Where(o => !carried.Any(w => o == w.Path + "/new")).ToList();
        var outputs = modelOutputs.Select(_ => new List<float>()).ToList();
        var shapes = new int[outputs.Count][];
        for (var start = 0; start < x.SampleCount; start += batchSize)
        {
            var count = Math.Min(batchSize, x.SampleCount - start);
            var feeds = carried.Select(w => NamedOnnxValue.CreateFromTensor(w.Path, new DenseTensor<float>(state[w.Path], ToInts(w.Shape)))).ToList();
            for (var i = 0; i < names.Count; i++)
            {
                var part = inputs[i].Slice(start, count);
                var dims = new[] { part.Count }.Concat(part.SampleShape).ToArray();
                feeds.Add(session.InputMetadata[names[i]].ElementDataType == TensorElementType.Int64
                    ? NamedOnnxValue.CreateFromTensor(names[i], new DenseTensor<long>(part.ToInt64(), dims))
                    : NamedOnnxValue.CreateFromTensor(names[i], new DenseTensor<float>(part.ToFloat32(), dims)));
            }
            using var results = session.Run(feeds);
            var list = results.ToList();
            for (var o = 0; o < outputs.Count; o++)
            {
                var tensor = list.First(r => r.Name == modelOutputs[o]).AsTensor<float>();
                shapes[o] = tensor.Dimensions.ToArray();
                outputs[o].AddRange(tensor);
            }
            foreach (var w in carried) state[w.Path] = list.First(r => r.Name == w.Path + "/new").AsTensor<float>().ToArray();
        }
        foreach (var w in carried) w.Assign(state[w.Path]);
        var outputNames = OutputNames;
        return DataArrays.Named(outputs.Select((o, i) => KeyValuePair.Create(outputNames[i],
            DataArray.Create(o.ToArray(), [x.SampleCount, .. shapes[i] is { Length: > 0 } s ? s[1..] : []]))));
    }

    /// <summary>Checks data against the model before any step runs: arrays matched to every input and output (by
    /// order or by name), sizes, per-sample shapes, finite values and class labels in range, each failure naming the
    /// input or output.</summary>
    public void Validate(InMemoryDataset data, string what)
    {
        if (data.Targets is null) throw new ArgumentException($"{what}: labels are missing");
        if (data.SampleWeights is { } sw && sw.Length != data.Count)
            throw new ArgumentException($"{what}: {data.Count} samples but {sw.Length} sample weights");
        IReadOnlyList<DataArray> xs, ys;
        try
        {
            xs = data.Inputs.Match(InputNames, "input");
            ys = data.Targets.Match(OutputNames, "output");
        }
        catch (ArgumentException e) { throw new ArgumentException($"{what}: {e.Message}", e); }
        var several = xs.Count > 1;
        for (var i = 0; i < xs.Count; i++)
        {
            var name = InputNames[i];
            var x = xs[i];
            var input = Model.Inputs[i].Shape;
            var expected = input.Dims.Skip(1).ToArray();
            var actual = x.SampleShape;
            var of = several ? $" of input '{name}'" : "";
            if (!Fits(expected, actual, x.SampleSize))
                throw new ArgumentException($"{what}: samples{of} are shaped ({string.Join(", ", actual)}) but the model's input '{name}' takes {input.ToKerasString()}: " +
                                            "give data of that shape, or change the input layer's batch_shape to fit the data");
            if (x.DType is DType.Float32 or DType.Float64)
            {
                var bad = x.IndexOfNonFinite();
                if (bad >= 0) throw new ArgumentException($"{what}: sample {bad / Math.Max(1, x.SampleSize)}{of} holds a non-finite value ({x.GetDouble(bad)})");
            }
        }
        for (var i = 0; i < ys.Count; i++)
        {
            var name = OutputNames[i];
            var of = ys.Count > 1 ? $" of output '{name}'" : "";
            var labels = ys[i].ToFloat32();
            var badLabel = Array.FindIndex(labels, v => !float.IsFinite(v));
            if (badLabel >= 0) throw new ArgumentException($"{what}: label {badLabel}{of} is not finite ({labels[badLabel]})");
            var output = Model.Outputs[i].Shape;
            var loss = _losses.Count == ys.Count ? _losses[i] : null;
            if (loss is { SparseLabels: true })
            {
                if (ys[i].SampleSize != 1 && output.Rank <= 2)
                    throw new ArgumentException($"{what}: labels{of} are shaped ({string.Join(", ", ys[i].SampleShape)}) but sparse_categorical_crossentropy takes one class index per sample");
                if (output[-1] is { IsKnown: true } classes)
                {
                    var outOfRange = Array.FindIndex(labels, v => v < 0 || v >= classes.Known || v != MathF.Floor(v));
                    if (outOfRange >= 0)
                        throw new ArgumentException($"{what}: label {labels[outOfRange]} of sample {outOfRange / Math.Max(1, ys[i].SampleSize)}{of} is not a class index in [0, {classes.Known})");
                }
            }
            else if (loss is not null && !Fits(output.Dims.Skip(1).ToArray(), ys[i].SampleShape, ys[i].SampleSize))
                throw new ArgumentException($"{what}: labels{of} are shaped ({string.Join(", ", ys[i].SampleShape)}) but the model's output '{name}' gives {output.ToKerasString()}");
        }
    }

    /// <summary>Per-sample data fits a graph shape when its dims match (unknown dims match anything) or it holds the same
    /// number of elements (a flat row of an image, labels [n] for a [n, 1] output).</summary>
    private static bool Fits(IReadOnlyList<NeuralService.Graph.Core.Dim> expected, int[] actual, int size)
    {
        var sameShape = expected.Count == actual.Length && expected.Zip(actual).All(p => !p.First.IsKnown || p.First.Known == p.Second);
        var sameSize = expected.All(d => d.IsKnown) && expected.Aggregate(1L, (p, d) => p * d.Known) == size;
        return sameShape || sameSize;
    }

    // ---------------------------------------------------------------- the step

    private (List<(string Name, double Value)> Scalars, IReadOnlyList<float[]>? Predictions) RunStep(Batch batch)
    {
        var sig = _train!.Signature;
        foreach (var feed in BatchFeeds(sig, batch))
        {
            if (feed.LongBuffer is not null) _session!.SetBatch(feed.Name, feed.LongBuffer.AsSpan(0, feed.Length), feed.Dims);
            else _session!.SetBatch(feed.Name, feed.FloatBuffer.AsSpan(0, feed.Length), feed.Dims);
        }
        _session!.SetScalar(sig.LearningRate!, LearningRate);
        _session.SetScalar(sig.Step!, _step);
        var values = _session.Run();
        _step++;
        var names = ScalarFetches(sig);
        var scalars = names.Select((n, i) => (LogName(sig, n), values[i].Length > 0 ? (double)values[i][0] : double.NaN)).ToList();
        return (scalars, sig.PredictionOutputs.Count > 0 ? values.Skip(names.Count).ToList() : null);
    }

    private static List<string> ScalarFetches(TrainingSignature sig) => [sig.LossOutput, .. sig.OutputLosses, .. sig.MetricOutputs];

    private static List<string> StepFetches(TrainingSignature sig) => [.. ScalarFetches(sig), .. sig.PredictionOutputs];

    /// <summary>Logs use Keras's names: <c>loss</c>, the metrics as compiled (<c>accuracy</c>), and with several outputs
    /// <c>{output}_loss</c>, <c>{output}_{metric}</c>.</summary>
    private static string LogName(TrainingSignature sig, string output) => sig.LogNames.GetValueOrDefault(output, output);

    /// <summary>A batch tensor: the first <see cref="Length"/> values of a staging buffer (<see cref="_staging"/>).</summary>
    private sealed record Feed(string Name, float[]? FloatBuffer, long[]? LongBuffer, int Length, long[] Dims)
    {
        /// <summary>A tensor over the staging buffer itself (valid until the next batch is converted).</summary>
        public OrtValue ToOrtValue() => LongBuffer is not null
            ? OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, LongBuffer.AsMemory(0, Length), Dims)
            : OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, FloatBuffer.AsMemory(0, Length), Dims);
    }

    /// <summary>The batch's features, targets and sample weights in the graph's element types and shapes; arrays are
    /// matched to the graph's inputs (the model's inputs, in order) and targets (one per output) by name or by order.</summary>
    private IEnumerable<Feed> BatchFeeds(TrainingSignature sig, Batch batch)
    {
        var features = sig.InputsOf(TensorRole.Feature).ToList();
        var targets = sig.InputsOf(TensorRole.Target).ToList();
        var xs = batch.Inputs.Match(features.Select(f => f.Name).ToList(), "input");
        if (Preprocessing is null) ResolvePreprocessing(batch.Inputs, null, _rescale);
        for (var i = 0; i < features.Count; i++) yield return Convert(features[i], xs[i], Preprocessing!.For(features[i].Name));
        if (batch.Targets is null) throw new ArgumentException("training and evaluation need labels");
        var ys = batch.Targets.Match(OutputNames, "output");
        for (var i = 0; i < targets.Count; i++) yield return Convert(targets[i], ys[i], null);
        if (sig.SampleWeight is { } sw)
        {
            var weights = _staging.Floats(sw, batch.Count);
            if (batch.SampleWeights is { } given) given.CopyTo(weights, 0);
            else weights.AsSpan(0, batch.Count).Fill(1f);
            yield return new Feed(sw, weights, null, batch.Count, [batch.Count]);
        }
    }

    private Feed Convert(TensorInfo info, DataArray data, InputScaling? scaling)
    {
        // The graph's per-sample dims where static (labels [n] feed a [n, 1] target), else the data's own.
        var dims = info.Shape.Dims.Skip(1).All(d => d.IsKnown) && info.Shape.Dims.Skip(1).Aggregate(1L, (p, d) => p * d.Known) == data.SampleSize
            ? new long[] { data.Count }.Concat(info.Shape.Dims.Skip(1).Select(d => d.Known)).ToArray()
            : new long[] { data.Count }.Concat(data.SampleShape.Select(d => (long)d)).ToArray();
        var length = checked((int)data.Data.LongLength);
        if (info.DType != DataType.Float)
        {
            var longs = _staging.Longs(info.Name, length);
            data.CopyTo(longs);
            return new Feed(info.Name, null, longs, length, dims);
        }
        var floats = _staging.Floats(info.Name, length);
        data.CopyTo(floats);
        scaling?.ApplyInPlace(floats.AsSpan(0, length));
        return new Feed(info.Name, floats, null, length, dims);
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++) if (names[i] == name) return i;
        throw new InvalidOperationException($"the evaluation graph has no output '{name}'");
    }

    private static int[] ToInts(long[] dims) => dims.Select(d => (int)d).ToArray();

    private void EnsureSession(bool sampleWeights)
    {
        if (_optimizer is null) throw new InvalidOperationException("call Compile before Fit or Evaluate");
        if (_session is not null && _train!.Signature.SampleWeight is not null == sampleWeights) return;
        var snapshot = _session is null ? null : Snapshot();
        DisposeSession();
        var sw = Stopwatch.StartNew();
        Devices.WarmUp();
        var predictions = _hostMetrics.Any(h => h.Count > 0);
        _train = TrainingGraph.Compile(Model, _losses, _optimizer, null, sampleWeights, _seed, predictionOutputs: predictions, outputMetrics: _metrics);
        _eval = TrainingGraph.CompileEval(Model, _losses, null, predictionOutputs: predictions, outputMetrics: _metrics);
        var sig = _train.Signature;
        var state = sig.Persistent.Select(p => (p.Input, p.Output ?? throw new InvalidOperationException($"'{p.Input}' has no next value"))).ToList();
        var batchInputs = sig.Inputs.Where(i => i.Role is TensorRole.Feature or TensorRole.Target or TensorRole.SampleWeight).Select(i => i.Name).ToList();
        _session = new StepSession(_train.Model,
            new StepSignature(batchInputs, state, [sig.LearningRate!, sig.Step!], StepFetches(sig)),
            // The session copies first values into its own memory: a weight's array is read in place and optimizer slots
            // are filled there (a new array per tensor would be faulted in page by page, ~100 ms per 34 MB here).
            sig.Persistent.ToDictionary(p => p.Input, p => p.Fill is { } fill ? InitialValue.Filled(fill) : p.Weight?.Data ?? p.Initial()), _device);
        if (snapshot is not null) Restore(snapshot);
        CompileTime = sw.Elapsed;
    }

    public TimeSpan CompileTime { get; private set; }

    /// <summary>Builds the training graph and its session now rather than at the first <see cref="Fit(InMemoryDataset, FitOptions?)"/>,
    /// e.g. while the data is still loading. Fit rebuilds them only for data with sample weights.</summary>
    public void Prepare() => EnsureSession(false);

    /// <summary><see cref="Prepare"/>, then one step on a batch of zeros whose results are discarded (weights, optimizer
    /// state and step count stay as they are), so that ONNX Runtime's first-run cost (its arena faulted in page by page:
    /// ~0.1 s of the seed CNN's first step here) is paid now, e.g. while the data loads. CPU sessions only, and only
    /// where every per-sample dim of the inputs and targets is static; otherwise it only prepares.</summary>
    public void WarmUp(int batchSize)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "a batch has at least one sample");
        EnsureSession(false);
        if (_session!.Device != DeviceKind.Cpu) return;
        var sig = _train!.Signature;
        var batch = sig.Inputs.Where(i => i.Role is TensorRole.Feature or TensorRole.Target).ToList();
        if (batch.Any(i => !i.Shape.Dims.Skip(1).All(d => d.IsKnown))) return;
        foreach (var input in batch)
        {
            long[] dims = [batchSize, .. input.Shape.Dims.Skip(1).Select(d => d.Known)];
            var length = checked((int)dims.Aggregate(1L, (p, d) => p * d));
            if (input.DType == DataType.Float) _session.SetBatch(input.Name, new float[length], dims);
            else _session.SetBatch(input.Name, new long[length], dims);
        }
        _session.SetScalar(sig.LearningRate!, 0);
        _session.SetScalar(sig.Step!, _step);
        _session.RunDiscarded();
    }

    private static float[] ClassSampleWeights(DataArray labels, IReadOnlyDictionary<int, double> classWeight, float[]? existing)
    {
        var n = labels.Count;
        var classes = labels.SampleSize == 1
            ? labels.ToInt64().Select(v => (int)v).ToArray()
            : Enumerable.Range(0, n).Select(i => { var row = labels.Slice(i, 1).ToFloat32(); return Array.IndexOf(row, row.Max()); }).ToArray();
        return classes.Select((c, i) => (float)(classWeight.GetValueOrDefault(c, 1.0) * (existing?[i] ?? 1f))).ToArray();
    }

    // ---------------------------------------------------------------- ITrainingControl

    public TrainingSnapshot Snapshot()
    {
        var session = _session ?? throw new InvalidOperationException("nothing to snapshot before training starts");
        return new TrainingSnapshot(session.StateNames.ToDictionary(n => n, session.ReadState), _step, _epoch, LearningRate);
    }

    public void Restore(TrainingSnapshot snapshot)
    {
        foreach (var (name, values) in snapshot.Tensors) _session!.WriteState(name, values);
        _step = snapshot.Step;
        LearningRate = snapshot.LearningRate;
    }

    /// <summary>Copies the trained parameters and state back into the model's weights.</summary>
    public void SyncWeightsToModel()
    {
        if (_session is null || _train is null) return;
        foreach (var p in _train.Signature.Parameters.Concat(_train.Signature.State))
            p.Weight?.Adopt(_session.ReadState(p.Input));
    }

    /// <summary>The trained inference model: trained weights, <see cref="Preprocessing"/> folded in as leading ops on the
    /// inputs (so it takes raw values) and recorded in metadata_props with <paramref name="options"/>' metadata.</summary>
    public global::Onnx.ModelProto ToOnnx(ExportOptions? options = null)
    {
        SyncWeightsToModel();
        var onnx = Model.ToOnnx(options);
        return Preprocessing is { } p ? p.Fold(onnx) : onnx;
    }

    public void ExportModel(string path) => OnnxModels.Save(ToOnnx(), path);

    public void SaveCheckpoint(string path, int epoch) =>
        Checkpoint.Save(path, Snapshot() with { Epoch = epoch }, _optimizer?.Name ?? "");

    /// <summary>Loads a checkpoint into the running session; returns the epoch to continue from.</summary>
    public int LoadCheckpoint(string path)
    {
        EnsureSession(_train?.Signature.SampleWeight is not null);
        var snapshot = Checkpoint.Load(path);
        var names = _session!.StateNames;
        Restore(snapshot with { Tensors = Checkpoint.Match(snapshot, names, n => _session.ReadState(n).Length, path) });
        return snapshot.Epoch;
    }

    private void DisposeSession()
    {
        _session?.Dispose();
        _session = null;
        _evalSession?.Dispose();
        _evalSession = null;
    }

    public void Dispose() => DisposeSession();
}
