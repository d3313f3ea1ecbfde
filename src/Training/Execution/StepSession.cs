using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
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
/// so no step's outputs alias its inputs (the graph may read an old parameter after writing its update).
/// Where those buffers live is the <see cref="IStepState"/> chosen for the device: host arrays on the CPU, device
/// memory on CUDA (docs/GPU.md).</summary>
public sealed class StepSession : IDisposable
{
    private readonly InferenceSession _session;
    private readonly StepSignature _signature;
    private readonly IStepState _state;
    private int _current;
    private long _steps;

    public StepSession(ModelProto model, StepSignature signature, IReadOnlyDictionary<string, float[]> initialState, DeviceOptions device)
        : this(model, signature, initialState.ToDictionary(kv => kv.Key, kv => (InitialValue)kv.Value), device, null)
    {
    }

    public StepSession(ModelProto model, StepSignature signature, IReadOnlyDictionary<string, InitialValue> initialState, DeviceOptions device)
        : this(model, signature, initialState, device, null)
    {
    }

    /// <summary><paramref name="state"/> overrides the device's choice of <see cref="IStepState"/> (tests run the
    /// device-memory path on the CPU with it).</summary>
    internal StepSession(ModelProto model, StepSignature signature, IReadOnlyDictionary<string, float[]> initialState, DeviceOptions device,
        Func<InferenceSession, StepLayout, IStepState>? state)
        : this(model, signature, initialState.ToDictionary(kv => kv.Key, kv => (InitialValue)kv.Value), device, state)
    {
    }

    internal StepSession(ModelProto model, StepSignature signature, IReadOnlyDictionary<string, InitialValue> initialState, DeviceOptions device,
        Func<InferenceSession, StepLayout, IStepState>? state)
    {
        _signature = signature;
        using (var options = Devices.Create(device, out var chosen, out var reason))
        {
            Device = chosen;
            DeviceReason = reason;
            _session = new InferenceSession(model.ToByteArray(), options);
        }
        try
        {
            var layout = StepLayout.Resolve(_session, signature, initialState);
            _state = state?.Invoke(_session, layout) ?? StepStates.Create(_session, layout, Device, device);
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    public DeviceKind Device { get; }
    /// <summary>One line on why this device was chosen (e.g. why CUDA was not used).</summary>
    public string DeviceReason { get; }
    public long Steps => _steps;

    public void SetScalar(string name, double value) => _state.SetScalar(name, value);

    /// <summary>Copies a float batch tensor into its bound buffer (one per shape, e.g. a last partial batch has its own).</summary>
    public void SetBatch(string name, ReadOnlySpan<float> data, long[] dims) => _state.SetBatch(name, data, dims);

    public void SetBatch(string name, ReadOnlySpan<long> data, long[] dims) => _state.SetBatch(name, data, dims);

    /// <summary>Runs one step and returns the fetched tensors (loss, predictions…) in signature order, as host copies.</summary>
    public float[][] Run()
    {
        var fetched = _state.Run(_current);
        _current = 1 - _current;
        _steps++;
        return fetched;
    }

    /// <summary>Runs a step on the staged inputs and discards it: it reads the current set and writes the other one, as
    /// a step does, but the current set stays current, so the next <see cref="Run"/> starts from the same state. What a
    /// first run costs (ONNX Runtime's arena faulted in page by page) is then paid here.</summary>
    public void RunDiscarded() => _state.Run(_current);

    /// <summary>Runs one step and returns the first element of each fetch (loss and scalar metrics).</summary>
    public float[] Step() => Run().Select(f => f.Length > 0 ? f[0] : float.NaN).ToArray();

    /// <summary>The current value of a carried tensor (a host copy: on a GPU, read back from the device).</summary>
    public float[] ReadState(string inputName) => _state.Read(_current, IndexOf(inputName));

    /// <summary>The carried tensor the next step reads, where it lives (owned by this session); a step writes the other
    /// set, so its values stay the latest until the step after next.</summary>
    public OrtValue StateValue(string inputName) => _state.Value(_current, IndexOf(inputName));

    public void WriteState(string inputName, ReadOnlySpan<float> values) => _state.Write(_current, IndexOf(inputName), values);

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
        _state.Dispose();
        _session.Dispose();
    }
}
