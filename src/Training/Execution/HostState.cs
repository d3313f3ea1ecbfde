using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace NeuralService.Training.Execution;

/// <summary>Carried state, batches and scalars in host arrays bound in place: the CPU provider reads and writes them
/// directly, so nothing is copied besides the batch into its bound array.</summary>
internal sealed class HostState : IStepState
{
    private readonly InferenceSession _session;
    private readonly StepSignature _signature;
    private readonly OrtValue[][] _state;           // [set][i], over _memory[set][i]
    private readonly HostBuffer[][] _memory;
    private readonly OrtIoBinding[] _bindings;      // binding s reads set s, writes set 1-s
    private readonly Dictionary<string, OrtValue> _scalars = new(StringComparer.Ordinal);
    private readonly OrtMemoryInfo _host = OrtMemoryInfo.DefaultInstance;
    private readonly RunOptions _run = new();
    private readonly Dictionary<string, (OrtValue Value, float[]? F, long[]? L, long[] Dims)> _batch = new(StringComparer.Ordinal);

    public HostState(InferenceSession session, StepLayout layout)
    {
        _session = session;
        _signature = layout.Signature;
        var signature = layout.Signature;
        _state = new OrtValue[2][];
        _memory = new HostBuffer[2][];
        for (var set = 0; set < 2; set++)
        {
            _memory[set] = layout.InitialState.Select((initial, i) =>
            {
                var buffer = new HostBuffer(layout.Count(i));
                initial.CopyTo(buffer.Span);
                return buffer;
            }).ToArray();
            _state[set] = _memory[set].Select((buffer, i) => buffer.CreateValue(layout.StateDims[i])).ToArray();
        }
        for (var s = 0; s < signature.ScalarInputs.Count; s++)
            _scalars[signature.ScalarInputs[s]] = layout.ScalarTypes[s] == TensorElementType.Int64
                ? OrtValue.CreateTensorValueFromMemory(new long[1], [])
                : OrtValue.CreateTensorValueFromMemory(new float[1], []);
        _bindings = new OrtIoBinding[2];
        for (var set = 0; set < 2; set++)
        {
            var b = _session.CreateIoBinding();
            for (var i = 0; i < signature.State.Count; i++)
            {
                b.BindInput(signature.State[i].Input, _state[set][i]);
                b.BindOutput(signature.State[i].Output, _state[1 - set][i]);
            }
            foreach (var (name, v) in _scalars) b.BindInput(name, v);
            foreach (var f in signature.Fetches) b.BindOutputToDevice(f, _host);
            _bindings[set] = b;
        }
    }

    public void SetScalar(string name, double value)
    {
        var v = _scalars[name];
        if (v.GetTensorTypeAndShape().ElementDataType == TensorElementType.Int64) v.GetTensorMutableDataAsSpan<long>()[0] = (long)value;
        else v.GetTensorMutableDataAsSpan<float>()[0] = (float)value;
    }

    public void SetBatch(string name, ReadOnlySpan<float> data, long[] dims)
    {
        var n = data.Length;
        var slot = Slot(name, dims, () => new float[n], null);
        data.CopyTo(slot.F);
    }

    public void SetBatch(string name, ReadOnlySpan<long> data, long[] dims)
    {
        var n = data.Length;
        var slot = Slot(name, dims, null, () => new long[n]);
        data.CopyTo(slot.L);
    }

    /// <summary>The bound array for a batch input, reallocated only when the shape changes (e.g. a last partial batch).</summary>
    private (OrtValue Value, float[]? F, long[]? L, long[] Dims) Slot(string name, long[] dims, Func<float[]>? f, Func<long[]>? l)
    {
        if (_batch.TryGetValue(name, out var slot) && slot.Dims.SequenceEqual(dims)) return slot;
        slot.Value?.Dispose();
        var fa = f?.Invoke();
        var la = l?.Invoke();
        var value = fa is not null ? OrtValue.CreateTensorValueFromMemory(fa, dims) : OrtValue.CreateTensorValueFromMemory(la!, dims);
        slot = (value, fa, la, dims);
        _batch[name] = slot;
        foreach (var b in _bindings)
        {
            b.BindInput(name, value);
            // A bound output keeps its previous run's buffer; batch-sized fetches (predictions) must be reallocated.
            foreach (var fetch in _signature.Fetches) b.BindOutputToDevice(fetch, _host);
        }
        return slot;
    }

    public float[][] Run(int set)
    {
        var binding = _bindings[set];
        _session.RunWithBinding(_run, binding);
        using var outputs = binding.GetOutputValues();
        // Output values come back in binding order: carried state first, then the fetches.
        return outputs.Skip(_signature.State.Count).Select(v => v.GetTensorDataAsSpan<float>().ToArray()).ToArray();
    }

    public float[] Read(int set, int index) => _state[set][index].GetTensorDataAsSpan<float>().ToArray();

    public OrtValue Value(int set, int index) => _state[set][index];

    public void Write(int set, int index, ReadOnlySpan<float> values)
    {
        var target = _state[set][index].GetTensorMutableDataAsSpan<float>();
        if (values.Length != target.Length) throw new ArgumentException($"'{_signature.State[index].Input}' holds {target.Length} values, got {values.Length}");
        values.CopyTo(target);
    }

    public void Dispose()
    {
        foreach (var b in _bindings) b.Dispose();
        foreach (var set in _state) foreach (var v in set) v.Dispose();
        foreach (var set in _memory) foreach (var m in set) m.Dispose();
        foreach (var v in _scalars.Values) v.Dispose();
        foreach (var s in _batch.Values) s.Value.Dispose();
        _run.Dispose();
    }
}
