using Microsoft.ML.OnnxRuntime;
using NeuralService.Graph.Onnx;
using NeuralService.Inference.Registry;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Inference.Engine;

/// <summary>One loaded model version: its ONNX Runtime session and the batcher that feeds it.</summary>
public sealed class ModelRunner : IAsyncDisposable
{
    private readonly InferenceSession _session;
    private readonly string[] _outputNames;

    internal ModelRunner(ModelVersion version, InferenceSession session, BatchingOptions batching)
    {
        Version = version;
        _session = session;
        _outputNames = version.Signature.Outputs.Select(o => o.Name).ToArray();
        Batcher = new DynamicBatcher(Run, BatchPlan.ModeOf(version.Signature), batching, version.ToString());
    }

    public ModelVersion Version { get; }
    public DynamicBatcher Batcher { get; }
    /// <summary>Memory the loaded model holds: the larger of the native memory its load and first run took and what
    /// its graph needs for constants (never less than its file), set once at load.</summary>
    public long MemoryBytes { get; internal set; }

    /// <summary>True once the session is released (the model was unloaded or evicted).</summary>
    public bool IsDisposed => _disposed != 0;
    private int _disposed;

    /// <summary>Runs inputs (in signature order) directly, bypassing the queue.</summary>
    public IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> inputs) => Run(inputs, quiet: false);

    private IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> inputs, bool quiet)
    {
        var values = new List<OrtValue>(inputs.Count);
        try
        {
            foreach (var t in inputs) values.Add(OrtTensors.ToOrtValue(t));
            using var runOptions = new RunOptions();
            if (quiet) runOptions.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
            IDisposableReadOnlyCollection<OrtValue> outputs;
            try
            {
                outputs = _session.Run(runOptions, inputs.Select(i => i.Name).ToArray(), values, _outputNames);
            }
            catch (OnnxRuntimeException e)
            {
                throw new ModelExecutionException($"{Version} failed to run: {e.Message}", e);
            }
            using (outputs)
                return outputs.Select((v, i) => OrtTensors.FromOrtValue(_outputNames[i], v)).ToList();
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <summary>One run on zeros (free dims = 1) so the first real request does not pay for lazy initialisation.</summary>
    internal void WarmUp(Action<string>? log)
    {
        try
        {
            var inputs = Version.Signature.Inputs.Select(spec =>
            {
                var type = DataTypes.FromName(spec.ElementType);
                var dims = (spec.Shape ?? []).Select(d => d.Size ?? 1).ToArray();
                var count = dims.Aggregate(1L, (p, d) => p * d);
                return type == DataType.String
                    ? new NamedTensor(spec.Name, type, dims, strings: Enumerable.Repeat("", (int)count).ToArray())
                    : new NamedTensor(spec.Name, type, dims, new byte[count * DataTypes.ByteSize(type)]);
            }).ToList();
            Run(inputs, quiet: true);
        }
        catch (Exception e) when (e is InferenceServiceException or NotSupportedException or OnnxRuntimeException)
        {
            // Zeros are not valid for every model (e.g. shape inputs); the model already loaded, so serve it anyway.
            log?.Invoke($"warm-up of {Version} skipped: {e.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await Batcher.DisposeAsync();
        _session.Dispose();
    }
}
