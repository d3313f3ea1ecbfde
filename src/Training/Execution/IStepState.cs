using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace NeuralService.Training.Execution;

/// <summary>Where a step's tensors live, and how they get there: the one seam between the step loop and the device.
/// An implementation owns the carried state (sets A and B), the per-step inputs (batch and scalars) and the two
/// crosswise bindings: <see cref="Run"/> with set s reads set s and writes set 1 − s.
/// <see cref="HostState"/> keeps everything in host arrays (the CPU provider reads them in place);
/// <see cref="DeviceState"/> keeps it in the device memory of the step session's allocator (CUDA) and moves only
/// batches, scalars and fetches across the bus. <see cref="StepStates.Create"/> is where the choice is made.</summary>
internal interface IStepState : IDisposable
{
    void SetScalar(string name, double value);

    /// <summary>Stages a batch tensor for the next <see cref="Run"/>; a new shape (a last partial batch) gets its own buffer.</summary>
    void SetBatch(string name, ReadOnlySpan<float> data, long[] dims);

    void SetBatch(string name, ReadOnlySpan<long> data, long[] dims);

    /// <summary>Runs one step reading set <paramref name="set"/> and writing set 1 − <paramref name="set"/>; returns the
    /// fetches in signature order as host arrays.</summary>
    float[][] Run(int set);

    /// <summary>A host copy of carried tensor <paramref name="index"/> of set <paramref name="set"/>.</summary>
    float[] Read(int set, int index);

    /// <summary>Carried tensor <paramref name="index"/> of set <paramref name="set"/> where it lives (host or device
    /// memory), for another session on the same device to read in place; owned by this state.</summary>
    OrtValue Value(int set, int index);

    /// <summary>Overwrites carried tensor <paramref name="index"/> of set <paramref name="set"/> in place (its buffer, and so
    /// every binding and captured CUDA graph that points at it, stays the same).</summary>
    void Write(int set, int index, ReadOnlySpan<float> values);
}

/// <summary>A carried tensor's first value: its values, or one value for every element (optimizer moments start at 0),
/// written straight into the state's memory instead of through an array as large as the tensor.</summary>
public readonly record struct InitialValue(float[]? Values, float Fill = 0)
{
    public static implicit operator InitialValue(float[] values) => new(values);

    public static InitialValue Filled(float value) => new(null, value);

    public void CopyTo(Span<float> destination)
    {
        if (Values is null) destination.Fill(Fill);
        else Values.CopyTo(destination);
    }
}

/// <summary>What a step graph takes, resolved against its session: the carried tensors' static shapes and first values,
/// and the element type of each scalar input.</summary>
internal sealed record StepLayout(
    StepSignature Signature,
    IReadOnlyList<long[]> StateDims,
    IReadOnlyList<InitialValue> InitialState,
    IReadOnlyList<TensorElementType> ScalarTypes)
{
    /// <summary>The number of elements of carried tensor <paramref name="index"/>.</summary>
    public int Count(int index) => checked((int)StateDims[index].Aggregate(1L, (p, d) => p * d));

    public static StepLayout Resolve(InferenceSession session, StepSignature signature, IReadOnlyDictionary<string, InitialValue> initialState)
    {
        var inputs = session.InputMetadata;
        var dims = new List<long[]>();
        var initial = new List<InitialValue>();
        foreach (var (name, _) in signature.State)
        {
            if (!inputs.TryGetValue(name, out var meta)) throw new ArgumentException($"step graph has no input '{name}'");
            var d = meta.Dimensions.Select(x => (long)x).ToArray();
            if (d.Any(x => x < 0)) throw new ArgumentException($"carried tensor '{name}' must have a static shape, has [{string.Join(",", d)}]");
            if (!initialState.TryGetValue(name, out var data)) throw new ArgumentException($"no initial value for '{name}'");
            var count = d.Aggregate(1L, (p, x) => p * x);
            if (data.Values is { } values && values.LongLength != count)
                throw new ArgumentException($"the initial value of '{name}' has {values.LongLength} elements, its shape [{string.Join(",", d)}] {count}");
            dims.Add(d);
            initial.Add(data);
        }
        var scalars = signature.ScalarInputs
            .Select(s => inputs.TryGetValue(s, out var meta) ? meta.ElementDataType : throw new ArgumentException($"step graph has no input '{s}'"))
            .ToList();
        return new StepLayout(signature, dims, initial, scalars);
    }
}

/// <summary>Chooses where a step's state lives from the device its session runs on.</summary>
internal static class StepStates
{
    public static IStepState Create(InferenceSession session, StepLayout layout, DeviceKind chosen, DeviceOptions options) => chosen switch
    {
        DeviceKind.Cuda => new DeviceState(session, layout,
            new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.ArenaAllocator, options.CudaDeviceId, OrtMemType.Default),
            options, options.CudaGraphs),
        _ => new HostState(session, layout),
    };
}
