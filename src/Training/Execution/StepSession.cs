using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace NeuralService.Training.Execution;

/// <summary>The names of a step graph. <see cref="State"/> pairs each carried tensor's input name with the output
/// name of its next value (parameters, optimizer state, BatchNorm statistics); the rest are fed per step.</summary>
public sealed record StepSignature(
    IReadOnlyList<string> BatchInputs,
    IReadOnlyList<(string Input, string Output)> State,
    IReadOnlyList<string> ScalarInputs,
    IReadOnlyList<string> Fetches);

/// <summary>Runs a step graph repeatedly with its carried state kept in ONNX Runtime buffers between steps.
/// Two buffer sets A and B are bound crosswise: step k reads A and writes B, step k+1 reads B and writes A,
/// so no step's outputs alias its inputs (the graph may read an old parameter after writing its update).</summary>
public sealed class StepSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly StepSignature _signature;
    private readonly OrtValue[][] _state;           // [set][i]
    private readonly OrtIoBinding[] _bindings;      // binding s reads set s, writes set 1-s
    private readonly Dictionary<string, OrtValue> _scalars = new(StringComparer.Ordinal);
    private readonly OrtMemoryInfo _host = OrtMemoryInfo.DefaultInstance;
    private readonly RunOptions _run = new();
    private readonly Dictionary<string, (OrtValue Value, float[]? F, long[]? L, long[] Dims)> _batch = new(StringComparer.Ordinal);
    private int _current;
    private long _steps;

    public StepSession(ModelProto model, StepSignature signature, IReadOnlyDictionary<string, float[]> initialState, DeviceOptions device)
    {
        _signature = signature;
        var options = Devices.Create(device, out var chosen, out var reason);
        Device = chosen;
        DeviceReason = reason;
        _session = new InferenceSession(model.ToByteArray(), options);
        options.Dispose();
        var inputs = _session.InputMetadata;
        _state = new OrtValue[2][];
        for (var set = 0; set < 2; set++)
        {
            _state[set] = new OrtValue[signature.State.Count];
            for (var i = 0; i < signature.State.Count; i++)
            {
                var (name, _) = signature.State[i];
                if (!inputs.TryGetValue(name, out var meta)) throw new ArgumentException($"step graph has no input '{name}'");
                var dims = meta.Dimensions.Select(d => (long)d).ToArray();
                if (dims.Any(d => d < 0)) throw new ArgumentException($"carried tensor '{name}' must have a static shape, has [{string.Join(",", dims)}]");
                if (!initialState.TryGetValue(name, out var data)) throw new ArgumentException($"no initial value for '{name}'");
                var value = OrtValue.CreateTensorValueFromMemory((float[])data.Clone(), dims);
                _state[set][i] = value;
            }
        }
        foreach (var s in signature.ScalarInputs)
        {
            var type = inputs.TryGetValue(s, out var meta) ? meta.ElementDataType : throw new ArgumentException($"step graph has no input '{s}'");
            _scalars[s] = type == TensorElementType.Int64
                ? OrtValue.CreateTensorValueFromMemory(new long[1], [])
                : OrtValue.CreateTensorValueFromMemory(new float[1], []);
        }
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

    public DeviceKind Device { get; }
    /// <summary>One line on why this device was chosen (e.g. why CUDA was not used).</summary>
    public string DeviceReason { get; }
    public long Steps => _steps;

    public void SetScalar(string name, double value)
    {
        var v = _scalars[name];
        if (v.GetTensorTypeAndShape().ElementDataType == TensorElementType.Int64) v.GetTensorMutableDataAsSpan<long>()[0] = (long)value;
        else v.GetTensorMutableDataAsSpan<float>()[0] = (float)value;
    }

    /// <summary>Copies a float batch tensor into its bound buffer (reallocated only when the shape changes, e.g. a last partial batch).</summary>
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

    /// <summary>Runs one step and returns the fetched tensors (loss, predictions…) in signature order, as host copies.</summary>
    public float[][] Run()
    {
        var binding = _bindings[_current];
        _session.RunWithBinding(_run, binding);
        _current = 1 - _current;
        _steps++;
        using var outputs = binding.GetOutputValues();
        // Output values come back in binding order: carried state first, then the fetches.
        return outputs.Skip(_signature.State.Count).Select(v => v.GetTensorDataAsSpan<float>().ToArray()).ToArray();
    }

    /// <summary>Runs one step and returns the first element of each fetch (loss and scalar metrics).</summary>
    public float[] Step() => Run().Select(f => f.Length > 0 ? f[0] : float.NaN).ToArray();

    /// <summary>The current value of a carried tensor (a host copy).</summary>
    public float[] ReadState(string inputName)
    {
        var i = IndexOf(inputName);
        return _state[_current][i].GetTensorDataAsSpan<float>().ToArray();
    }

    public void WriteState(string inputName, ReadOnlySpan<float> values)
    {
        var i = IndexOf(inputName);
        var target = _state[_current][i].GetTensorMutableDataAsSpan<float>();
        if (values.Length != target.Length) throw new ArgumentException($"'{inputName}' holds {target.Length} values, got {values.Length}");
        values.CopyTo(target);
    }

    /// <summary>Ends ONNX Runtime profiling (when enabled) and returns the profile file's path.</summary>
    public string EndProfiling() => _session.EndProfiling();

    public IReadOnlyList<string> StateNames => _signature.State.Select(s => s.Input).ToList();

    private int IndexOf(string inputName)
    {
        for (var i = 0; i < _signature.State.Count; i++) if (_signature.State[i].Input == inputName) return i;
        throw new ArgumentException($"'{inputName}' is not carried state");
    }

    public void Dispose()
    {
        foreach (var b in _bindings) b.Dispose();
        foreach (var set in _state) foreach (var v in set) v.Dispose();
        foreach (var v in _scalars.Values) v.Dispose();
        foreach (var s in _batch.Values) s.Value.Dispose();
        _run.Dispose();
        _session.Dispose();
    }
}
