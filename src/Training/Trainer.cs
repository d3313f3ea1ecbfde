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
    private IReadOnlyList<LossSpec> _losses = [];
    private IReadOnlyList<string> _metrics = [];
    // Metrics the graph has no op form for (precision, AUC…): computed here from the fetched predictions.
    private IReadOnlyList<string> _hostMetrics = [];
    private CompiledGraph? _train;
    private CompiledGraph? _eval;
    private StepSession? _session;
    private long _step;
    private int _epoch;

    public Trainer(Model model, DeviceOptions? device = null, int seed = 0)
    {
        Model = model;
        _device = device ?? new DeviceOptions();
        _seed = seed;
    }

    public Model Model { get; }
    public double LearningRate { get; set; }
    public bool StopTraining { get; set; }
    public int Epochs { get; private set; }
    public long Step => _step;
    /// <summary>The device the step runs on, and why (one line for the logs).</summary>
    public string? DeviceReport => _session is null ? null : $"{_session.Device}: {_session.DeviceReason}";

    public void Compile(OptimizerSpec optimizer, LossSpec loss, IReadOnlyList<string>? metrics = null) =>
        Compile(optimizer, [loss], metrics);

    public void Compile(OptimizerSpec optimizer, IReadOnlyList<LossSpec> losses, IReadOnlyList<string>? metrics = null)
    {
        _optimizer = optimizer;
        _losses = losses;
        _metrics = (metrics ?? []).Where(m => IsGraphMetric(m, losses)).ToList();
        _hostMetrics = (metrics ?? []).Where(m => !IsGraphMetric(m, losses)).ToList();
        foreach (var m in _hostMetrics) MetricFactory.Create(m, losses[0].Name);
        LearningRate = optimizer.LearningRate;
        DisposeSession();
        _train = _eval = null;
    }

    public History Fit(InMemoryDataset data, FitOptions? options = null)
    {
        options ??= new FitOptions();
        Validate(data, "training data");
        if (options.ValidationData is { } v) Validate(v, "validation data");
        var (train, validation) = options.ValidationSplit > 0 ? data.Split(options.ValidationSplit) : (data, options.ValidationData);
        if (options.ClassWeight is { } cw && train.Labels is { } labels)
            train = new InMemoryDataset(train.Features, labels, ClassSampleWeights(labels, cw, train.SampleWeights), train.ClassNames);
        return Fit(train.Batches(options.BatchSize, options.Shuffle, _seed), validation?.Batches(options.BatchSize), options, train.SampleWeights is not null);
    }

    /// <summary>Trains on batches from <paramref name="train"/> (streamed or in memory).</summary>
    public History Fit(IDataset train, IDataset? validation, FitOptions options, bool sampleWeights = false)
    {
        EnsureSession(sampleWeights);
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
                foreach (var m in host) logs[m.Name] = m.Result();
                index++;
                foreach (var c in options.Callbacks) c.OnBatchEnd(this, index - 1, train.BatchCount ?? -1, logs);
                if (options.Verbose == 1) bar.Update(index, logs);
                if (StopTraining) break;
            }
            if (validation is not null)
                foreach (var (k, v) in Evaluate(validation)) logs["val_" + k] = v;
            if (options.Verbose > 0) bar.Update(index, logs, final: true);
            history.Add(_epoch, logs);
            foreach (var c in options.Callbacks) c.OnEpochEnd(this, _epoch, logs);
        }
        SyncWeightsToModel();
        foreach (var c in options.Callbacks) c.OnTrainEnd(this, logs);
        return history;
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
        using var options = Devices.Create(_device with { CudaGraphs = false }, out _, out _);
        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(eval.Model), options);
        var held = eval.Signature.Inputs.Where(i => i.Role is TensorRole.Parameter or TensorRole.State)
            .Select(i => NamedOnnxValue.CreateFromTensor(i.Name, new DenseTensor<float>(_session!.ReadState(i.Name), ToInts(i.Shape.ToArray()))))
            .ToList();
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        var host = HostMetrics();
        double seen = 0;
        foreach (var batch in data.GetBatches(0))
        {
            var feeds = new List<NamedOnnxValue>(held);
            feeds.AddRange(BatchFeeds(eval.Signature, batch).Select(f => f.ToNamed()));
            using var results = session.Run(feeds);
            if (eval.Signature.PredictionOutputs.Count > 0)
                UpdateHost(host, batch, results.First(r => r.Name == eval.Signature.PredictionOutputs[0]).AsTensor<float>().ToArray());
            foreach (var r in results)
            {
                var name = r.Name == eval.Signature.LossOutput ? "loss"
                    : eval.Signature.MetricOutputs.ToList().IndexOf(r.Name) is var i and >= 0 && eval.Signature.MetricOutputs.Count == _metrics.Count ? _metrics[i]
                    : null;
                if (name is not null) sums[name] = sums.GetValueOrDefault(name) + r.AsTensor<float>().GetValue(0) * batch.Count;
            }
            seen += batch.Count;
        }
        var result = sums.ToDictionary(kv => kv.Key, kv => seen == 0 ? double.NaN : kv.Value / seen);
        foreach (var m in host) result[m.Name] = seen == 0 ? double.NaN : m.Result();
        return result;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first metric neither the graph nor the host knows.</summary>
    public static void CheckMetrics(IEnumerable<string> metrics, LossSpec loss)
    {
        foreach (var m in metrics)
            if (!IsGraphMetric(m, [loss])) MetricFactory.Create(m, loss.Name);
    }

    private static bool IsGraphMetric(string name, IReadOnlyList<LossSpec> losses)
    {
        try
        {
            NeuralService.Graph.Training.Metrics.Canonical(name, losses.Count > 0 ? losses[0] : new LossSpec("mse"));
            return true;
        }
        catch (ArgumentException) { return false; }
    }

    private List<Metric> HostMetrics() => _hostMetrics.Select(m => MetricFactory.Create(m, _losses[0].Name)).ToList();

    private static void UpdateHost(List<Metric> host, Batch batch, float[]? predictions)
    {
        if (host.Count == 0 || predictions is null || batch.Labels is null) return;
        var width = batch.Count == 0 ? 1 : predictions.Length / batch.Count;
        var metricBatch = new MetricBatch(batch.Labels.ToFloat32(), predictions, batch.Count, width, batch.SampleWeights);
        foreach (var m in host) m.Update(metricBatch);
    }

    public IReadOnlyDictionary<string, double> Evaluate(InMemoryDataset data, int batchSize = 32) => Evaluate(data.Batches(batchSize));

    /// <summary>Model outputs for every sample (inference behaviour), one flat array per output, samples in order.</summary>
    public IReadOnlyList<float[]> Predict(DataArray x, int batchSize = 32)
    {
        if (_session is not null) SyncWeightsToModel();
        var onnx = Model.ToOnnx();
        using var options = Devices.Create(_device with { CudaGraphs = false }, out _, out _);
        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(onnx), options);
        var input = session.InputMetadata.Single();
        var outputs = session.OutputNames.Select(_ => new List<float>()).ToList();
        for (var start = 0; start < x.Count; start += batchSize)
        {
            var part = x.Slice(start, Math.Min(batchSize, x.Count - start));
            var dims = new[] { part.Count }.Concat(part.SampleShape).ToArray();
            var feed = input.Value.ElementDataType == TensorElementType.Int64
                ? NamedOnnxValue.CreateFromTensor(input.Key, new DenseTensor<long>(part.ToInt64(), dims))
                : NamedOnnxValue.CreateFromTensor(input.Key, new DenseTensor<float>(part.ToFloat32(), dims));
            using var results = session.Run([feed]);
            var list = results.ToList();
            for (var o = 0; o < outputs.Count; o++) outputs[o].AddRange(list.First(r => r.Name == session.OutputNames[o]).AsTensor<float>());
        }
        return outputs.Select(o => o.ToArray()).ToList();
    }

    /// <summary>Checks data against the model before any step runs: sizes, per-sample shapes, finite values and
    /// class labels in range, each failure naming the problem.</summary>
    public void Validate(InMemoryDataset data, string what)
    {
        if (data.Labels is null) throw new ArgumentException($"{what}: labels are missing");
        if (data.Labels.Count != data.Count)
            throw new ArgumentException($"{what}: {data.Count} samples but {data.Labels.Count} labels");
        if (data.SampleWeights is { } sw && sw.Length != data.Count)
            throw new ArgumentException($"{what}: {data.Count} samples but {sw.Length} sample weights");
        var input = Model.Inputs.Single().Shape;
        var expected = input.Dims.Skip(1).ToArray();
        var actual = data.Features.SampleShape;
        var sameShape = expected.Length == actual.Length && expected.Zip(actual).All(p => !p.First.IsKnown || p.First.Known == p.Second);
        var sameSize = expected.All(d => d.IsKnown) && expected.Aggregate(1L, (p, d) => p * d.Known) == data.Features.SampleSize;
        if (!sameShape && !sameSize)
            throw new ArgumentException($"{what}: samples are shaped ({string.Join(", ", actual)}) but the model's input '{Model.InputNames[0]}' takes {input.ToKerasString()}");
        if (data.Features.DType is DType.Float32 or DType.Float64)
        {
            var x = data.Features.ToFloat32();
            var bad = Array.FindIndex(x, v => !float.IsFinite(v));
            if (bad >= 0) throw new ArgumentException($"{what}: sample {bad / Math.Max(1, data.Features.SampleSize)} holds a non-finite value ({x[bad]})");
        }
        var labels = data.Labels.ToFloat32();
        var badLabel = Array.FindIndex(labels, v => !float.IsFinite(v));
        if (badLabel >= 0) throw new ArgumentException($"{what}: label {badLabel} is not finite ({labels[badLabel]})");
        if (_losses.Count == 1 && _losses[0].SparseLabels && Model.Outputs.Single().Shape[-1] is { IsKnown: true } classes)
        {
            var outOfRange = Array.FindIndex(labels, v => v < 0 || v >= classes.Known || v != MathF.Floor(v));
            if (outOfRange >= 0)
                throw new ArgumentException($"{what}: label {labels[outOfRange]} of sample {outOfRange} is not a class index in [0, {classes.Known})");
        }
    }

    // ---------------------------------------------------------------- the step

    private (List<(string Name, double Value)> Scalars, float[]? Predictions) RunStep(Batch batch)
    {
        var sig = _train!.Signature;
        foreach (var feed in BatchFeeds(sig, batch))
        {
            if (feed.Longs is not null) _session!.SetBatch(feed.Name, feed.Longs, feed.Dims);
            else _session!.SetBatch(feed.Name, feed.Floats!, feed.Dims);
        }
        _session!.SetScalar(sig.LearningRate!, LearningRate);
        _session.SetScalar(sig.Step!, _step);
        var values = _session.Run();
        _step++;
        var names = ScalarFetches(sig);
        var scalars = names.Select((n, i) => (LogName(n), values[i].Length > 0 ? (double)values[i][0] : double.NaN)).ToList();
        return (scalars, sig.PredictionOutputs.Count > 0 ? values[names.Count] : null);
    }

    private static List<string> ScalarFetches(TrainingSignature sig) => [sig.LossOutput, .. sig.MetricOutputs];

    private static List<string> StepFetches(TrainingSignature sig) => [.. ScalarFetches(sig), .. sig.PredictionOutputs.Take(1)];

    /// <summary>Logs use the names the metrics were compiled with (<c>accuracy</c>), as Keras's do.</summary>
    private string LogName(string output)
    {
        var sig = _train!.Signature;
        if (output == sig.LossOutput) return "loss";
        var i = sig.MetricOutputs.ToList().IndexOf(output);
        return i >= 0 && sig.MetricOutputs.Count == _metrics.Count ? _metrics[i] : output;
    }

    private sealed record Feed(string Name, float[]? Floats, long[]? Longs, long[] Dims)
    {
        public NamedOnnxValue ToNamed() => Longs is not null
            ? NamedOnnxValue.CreateFromTensor(Name, new DenseTensor<long>(Longs, ToInts(Dims)))
            : NamedOnnxValue.CreateFromTensor(Name, new DenseTensor<float>(Floats!, ToInts(Dims)));
    }

    /// <summary>The batch's features, targets and sample weights in the graph's element types and shapes.</summary>
    private static IEnumerable<Feed> BatchFeeds(TrainingSignature sig, Batch batch)
    {
        var features = sig.InputsOf(TensorRole.Feature).ToList();
        var targets = sig.InputsOf(TensorRole.Target).ToList();
        if (features.Count != 1 || targets.Count != 1)
            throw new NotSupportedException($"this trainer feeds one input and one target; the model has {features.Count} inputs and {targets.Count} targets");
        yield return Convert(features[0], batch.Features);
        if (batch.Labels is null) throw new ArgumentException("training and evaluation need labels");
        yield return Convert(targets[0], batch.Labels);
        if (sig.SampleWeight is { } sw)
            yield return new Feed(sw, batch.SampleWeights ?? Enumerable.Repeat(1f, batch.Count).ToArray(), null, [batch.Count]);
    }

    private static Feed Convert(TensorInfo info, DataArray data)
    {
        // The graph's per-sample dims where static (labels [n] feed a [n, 1] target), else the data's own.
        var dims = info.Shape.Dims.Skip(1).All(d => d.IsKnown) && info.Shape.Dims.Skip(1).Aggregate(1L, (p, d) => p * d.Known) == data.SampleSize
            ? new long[] { data.Count }.Concat(info.Shape.Dims.Skip(1).Select(d => d.Known)).ToArray()
            : new long[] { data.Count }.Concat(data.SampleShape.Select(d => (long)d)).ToArray();
        return info.DType == DataType.Float
            ? new Feed(info.Name, data.ToFloat32(), null, dims)
            : new Feed(info.Name, null, data.ToInt64(), dims);
    }

    private static int[] ToInts(long[] dims) => dims.Select(d => (int)d).ToArray();

    private void EnsureSession(bool sampleWeights)
    {
        if (_optimizer is null) throw new InvalidOperationException("call Compile before Fit or Evaluate");
        if (_session is not null && _train!.Signature.SampleWeight is not null == sampleWeights) return;
        var snapshot = _session is null ? null : Snapshot();
        DisposeSession();
        var sw = Stopwatch.StartNew();
        var predictions = _hostMetrics.Count > 0;
        _train = TrainingGraph.Compile(Model, _losses, _optimizer, _metrics, sampleWeights, _seed, predictionOutputs: predictions);
        _eval = TrainingGraph.CompileEval(Model, _losses, _metrics, predictionOutputs: predictions);
        var sig = _train.Signature;
        var state = sig.Persistent.Select(p => (p.Input, p.Output ?? throw new InvalidOperationException($"'{p.Input}' has no next value"))).ToList();
        var batchInputs = sig.Inputs.Where(i => i.Role is TensorRole.Feature or TensorRole.Target or TensorRole.SampleWeight).Select(i => i.Name).ToList();
        _session = new StepSession(_train.Model,
            new StepSignature(batchInputs, state, [sig.LearningRate!, sig.Step!], StepFetches(sig)),
            sig.Persistent.ToDictionary(p => p.Input, p => p.Initial()), _device);
        if (snapshot is not null) Restore(snapshot);
        CompileTime = sw.Elapsed;
    }

    public TimeSpan CompileTime { get; private set; }

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
            p.Weight?.Assign(_session.ReadState(p.Input));
    }

    public void ExportModel(string path)
    {
        SyncWeightsToModel();
        OnnxModels.Save(Model.ToOnnx(), path);
    }

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
    }

    public void Dispose() => DisposeSession();
}
