using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace NeuralService.Training.Execution;

/// <summary>Carried state in device memory, allocated through the step session's own allocator for
/// <paramref name="memory"/> (CUDA device N), so a step reads and writes parameters and optimizer state where its
/// kernels run and nothing of them crosses the bus. Per step only the batch and the scalars (learning rate, step count)
/// go host → device, through fixed device buffers bound once per batch shape, and only the fetches (loss, metrics,
/// predictions) come back. The state is read back only when asked (<see cref="Read"/>: checkpoints, export, evaluation).
/// With <paramref name="graphs"/> every buffer a step touches, fetches included, is preallocated per batch shape so that
/// the two captured CUDA graphs (one per A/B binding, <see cref="CudaGraphPlan"/>) always find the same addresses.
/// On the CPU (memory = host, transfers on the CPU provider) the same code runs, which is how it is tested without a GPU.</summary>
internal sealed class DeviceState : IStepState
{
    private readonly InferenceSession _session;
    private readonly StepSignature _sig;
    private readonly StepLayout _layout;
    private readonly OrtMemoryInfo _memory;
    private readonly OrtAllocator _allocator;
    private readonly DeviceTransfer _transfer;
    private readonly CudaGraphPlan _plan;
    private readonly OrtValue[][] _state;                   // [set][i], device
    private readonly OrtIoBinding[] _bindings;              // binding s reads set s, writes set 1-s
    private readonly Dictionary<string, int> _scalarIndex = new(StringComparer.Ordinal);
    private readonly OrtValue[] _scalarHost;
    private readonly OrtValue[] _scalarDevice;
    private readonly Dictionary<string, BatchSlot> _slots = new(StringComparer.Ordinal);   // by name and shape
    private readonly Dictionary<string, BatchSlot> _staged = new(StringComparer.Ordinal);  // by name: the next run's
    private readonly Dictionary<string, FetchBuffers> _fetches = new(StringComparer.Ordinal); // graphs: by batch shape
    private readonly RunOptions _plain = new();
    private readonly RunOptions[] _graph = new RunOptions[2];
    private readonly RunOptions _skip = new();
    private DeviceTransfer.Copy? _upload;
    private FetchBuffers? _boundFetches;
    private string? _boundShape;

    public DeviceState(InferenceSession session, StepLayout layout, OrtMemoryInfo memory, DeviceOptions device, bool graphs)
    {
        _session = session;
        _layout = layout;
        _sig = layout.Signature;
        _memory = memory;
        _plan = new CudaGraphPlan(graphs);
        _allocator = new OrtAllocator(session, memory);
        _transfer = new DeviceTransfer(device);
        for (var s = 0; s < 2; s++)
        {
            _graph[s] = new RunOptions();
            _graph[s].AddRunConfigEntry(CudaGraphPlan.RunConfigKey, (s + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        _skip.AddRunConfigEntry(CudaGraphPlan.RunConfigKey, CudaGraphPlan.Skip);

        _state = new OrtValue[2][];
        for (var set = 0; set < 2; set++)
            _state[set] = layout.StateDims.Select(d => OrtValue.CreateAllocatedTensorValue(_allocator, TensorElementType.Float, d)).ToArray();
        // Feed copies of a mis-placed input would not show up as nodes in a profile: check the placement itself.
        foreach (var v in _state[0].Concat(_state[1]))
        {
            using var where = v.GetTensorMemoryInfo();
            if (where.Name != memory.Name || where.Id != memory.Id)
                throw new InvalidOperationException($"carried state was allocated in {where.Name}:{where.Id}, not {memory.Name}:{memory.Id}");
        }
        var initial = layout.InitialState.Select((value, i) =>
        {
            var host = new float[layout.Count(i)];
            value.CopyTo(host);
            return OrtValue.CreateTensorValueFromMemory(host, layout.StateDims[i]);
        }).ToList();
        try
        {
            _transfer.CopyOnce([.. initial, .. initial], [.. _state[0], .. _state[1]]);
        }
        finally { foreach (var v in initial) v.Dispose(); }

        _scalarHost = new OrtValue[_sig.ScalarInputs.Count];
        _scalarDevice = new OrtValue[_sig.ScalarInputs.Count];
        for (var s = 0; s < _sig.ScalarInputs.Count; s++)
        {
            _scalarIndex[_sig.ScalarInputs[s]] = s;
            var type = layout.ScalarTypes[s];
            _scalarHost[s] = type == TensorElementType.Int64
                ? OrtValue.CreateTensorValueFromMemory(new long[1], [])
                : OrtValue.CreateTensorValueFromMemory(new float[1], []);
            _scalarDevice[s] = OrtValue.CreateAllocatedTensorValue(_allocator, type == TensorElementType.Int64 ? type : TensorElementType.Float, []);
        }

        _bindings = new OrtIoBinding[2];
        for (var set = 0; set < 2; set++)
        {
            var b = _session.CreateIoBinding();
            for (var i = 0; i < _sig.State.Count; i++)
            {
                b.BindInput(_sig.State[i].Input, _state[set][i]);
                b.BindOutput(_sig.State[i].Output, _state[1 - set][i]);
            }
            for (var s = 0; s < _scalarDevice.Length; s++) b.BindInput(_sig.ScalarInputs[s], _scalarDevice[s]);
            _bindings[set] = b;
        }
    }

    /// <summary>Which graph each run replays (tests read it).</summary>
    internal CudaGraphPlan Plan => _plan;

    public void SetScalar(string name, double value)
    {
        var v = _scalarHost[_scalarIndex[name]];
        if (v.GetTensorTypeAndShape().ElementDataType == TensorElementType.Int64) v.GetTensorMutableDataAsSpan<long>()[0] = (long)value;
        else v.GetTensorMutableDataAsSpan<float>()[0] = (float)value;
    }

    public void SetBatch(string name, ReadOnlySpan<float> data, long[] dims) => data.CopyTo(Slot(name, dims, TensorElementType.Float).Floats);

    public void SetBatch(string name, ReadOnlySpan<long> data, long[] dims) => data.CopyTo(Slot(name, dims, TensorElementType.Int64).Longs);

    private BatchSlot Slot(string name, long[] dims, TensorElementType type)
    {
        var key = name + "|" + string.Join(",", dims);
        if (!_slots.TryGetValue(key, out var slot))
        {
            var count = checked((int)dims.Aggregate(1L, (p, d) => p * d));
            var floats = type == TensorElementType.Float ? new float[count] : null;
            var longs = type == TensorElementType.Int64 ? new long[count] : null;
            var host = floats is not null ? OrtValue.CreateTensorValueFromMemory(floats, dims) : OrtValue.CreateTensorValueFromMemory(longs!, dims);
            slot = new BatchSlot(dims, floats, longs, host, OrtValue.CreateAllocatedTensorValue(_allocator, type, dims));
            _slots[key] = slot;
        }
        _staged[name] = slot;
        return slot;
    }

    public float[][] Run(int set)
    {
        var shape = string.Join(";", _sig.BatchInputs.Where(_staged.ContainsKey).Select(n => n + ":" + string.Join(",", _staged[n].Dims)));
        if (shape != _boundShape) Rebind(shape);
        _upload?.Run();
        var binding = _bindings[set];
        var id = _plan.GraphId(set, shape);
        _session.RunWithBinding(id is null ? _plain : id == CudaGraphPlan.Skip ? _skip : _graph[set], binding);
        if (_boundFetches is { } fetches)
        {
            fetches.Download.Run();
            return fetches.Host.Select(a => (float[])a.Clone()).ToArray();
        }
        using var outputs = binding.GetOutputValues();
        return outputs.Skip(_sig.State.Count).Select(v => v.GetTensorDataAsSpan<float>().ToArray()).ToArray();
    }

    /// <summary>Binds the staged batch buffers (and, with graphs, this shape's fetch buffers) into both step bindings and
    /// rebuilds the upload; happens when the batch shape changes, not per step.</summary>
    private void Rebind(string shape)
    {
        var staged = _sig.BatchInputs.Where(_staged.ContainsKey).Select(n => (Name: n, Slot: _staged[n])).ToList();
        foreach (var b in _bindings)
            foreach (var (name, slot) in staged) b.BindInput(name, slot.Device);
        if (_plan.Enabled)
        {
            if (!_fetches.TryGetValue(shape, out var fetches))
            {
                fetches = CreateFetches(staged.Count > 0 ? staged[0].Slot.Dims[0] : -1);
                _fetches[shape] = fetches;
            }
            foreach (var b in _bindings)
                for (var f = 0; f < _sig.Fetches.Count; f++) b.BindOutput(_sig.Fetches[f], fetches.Device[f]);
            _boundFetches = fetches;
        }
        else
        {
            // ONNX Runtime copies these few values to the host as the run ends; a bound output keeps its previous run's
            // buffer, so batch-sized fetches (predictions) are bound afresh for the new shape.
            foreach (var b in _bindings)
                foreach (var f in _sig.Fetches) b.BindOutputToDevice(f, OrtMemoryInfo.DefaultInstance);
        }
        _upload?.Dispose();
        _upload = _scalarHost.Length + staged.Count == 0 ? null
            : _transfer.Bind([.. _scalarHost, .. staged.Select(s => s.Slot.Host)], [.. _scalarDevice, .. staged.Select(s => s.Slot.Device)]);
        _boundShape = shape;
    }

    /// <summary>Device buffers for the fetches of a batch of <paramref name="batch"/> samples, and host arrays they are
    /// copied into: a captured graph writes its outputs to fixed addresses, so they cannot be allocated per run.</summary>
    private FetchBuffers CreateFetches(long batch)
    {
        var device = new List<OrtValue>();
        var hostArrays = new List<float[]>();
        var hostValues = new List<OrtValue>();
        foreach (var f in _sig.Fetches)
        {
            var meta = _session.OutputMetadata[f];
            var dims = meta.Dimensions.Select((d, i) => d >= 0 ? d : i == 0 ? batch : -1L).ToArray();
            if (dims.Any(d => d < 0))
                throw new InvalidOperationException($"CUDA graphs need static shapes, but the step output '{f}' is shaped [{string.Join(",", meta.Dimensions)}]; train without CUDA graphs");
            device.Add(OrtValue.CreateAllocatedTensorValue(_allocator, TensorElementType.Float, dims));
            var host = new float[checked((int)dims.Aggregate(1L, (p, d) => p * d))];
            hostArrays.Add(host);
            hostValues.Add(OrtValue.CreateTensorValueFromMemory(host, dims));
        }
        return new FetchBuffers(device, hostArrays, hostValues, _transfer.Bind(device, hostValues));
    }

    public float[] Read(int set, int index)
    {
        var host = new float[_layout.Count(index)];
        using var value = OrtValue.CreateTensorValueFromMemory(host, _layout.StateDims[index]);
        _transfer.CopyOnce([_state[set][index]], [value]);
        return host;
    }

    public OrtValue Value(int set, int index) => _state[set][index];

    public void Write(int set, int index, ReadOnlySpan<float> values)
    {
        var length = _layout.Count(index);
        if (values.Length != length) throw new ArgumentException($"'{_sig.State[index].Input}' holds {length} values, got {values.Length}");
        using var value = OrtValue.CreateTensorValueFromMemory(values.ToArray(), _layout.StateDims[index]);
        _transfer.CopyOnce([value], [_state[set][index]]);
    }

    public void Dispose()
    {
        _upload?.Dispose();
        foreach (var b in _bindings) b.Dispose();
        foreach (var f in _fetches.Values) f.Dispose();
        foreach (var s in _slots.Values) s.Dispose();
        foreach (var v in _scalarHost.Concat(_scalarDevice)) v.Dispose();
        foreach (var set in _state) foreach (var v in set) v.Dispose();
        _transfer.Dispose();
        _allocator.Dispose();
        if (!ReferenceEquals(_memory, OrtMemoryInfo.DefaultInstance)) _memory.Dispose();
        _plain.Dispose();
        _skip.Dispose();
        foreach (var r in _graph) r.Dispose();
    }

    private sealed record BatchSlot(long[] Dims, float[]? Floats, long[]? Longs, OrtValue Host, OrtValue Device) : IDisposable
    {
        public void Dispose()
        {
            Host.Dispose();
            Device.Dispose();
        }
    }

    private sealed record FetchBuffers(IReadOnlyList<OrtValue> Device, IReadOnlyList<float[]> Host, IReadOnlyList<OrtValue> HostValues, DeviceTransfer.Copy Download) : IDisposable
    {
        public void Dispose()
        {
            Download.Dispose();
            foreach (var v in Device.Concat(HostValues)) v.Dispose();
        }
    }
}
