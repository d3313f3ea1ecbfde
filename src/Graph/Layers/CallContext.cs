using NeuralService.Graph.Core;

namespace NeuralService.Graph.Layers;

/// <summary>A new value for a non-trainable weight produced by a forward pass in training mode (e.g. BatchNorm's moving mean).</summary>
public sealed record StateUpdate(Weight Weight, Value NewValue);

/// <summary>How a model is being emitted: training or inference behaviour, the Keras call arguments of the current
/// layer call, Keras masks riding beside values, and state updates produced in training mode.</summary>
public sealed class CallContext
{
    private readonly Dictionary<string, Value> _masks = new(StringComparer.Ordinal);

    public CallContext(bool training = false, int seed = 0)
    {
        Training = training;
        Seed = seed;
    }

    /// <summary>Training behaviour (Dropout active, BatchNorm on batch statistics).</summary>
    public bool Training { get; }
    /// <summary>Base seed for random ops (Dropout) so that graphs are reproducible.</summary>
    public int Seed { get; }
    /// <summary>Keyword arguments of the layer call being emitted (e.g. <c>use_causal_mask</c>, <c>mask</c>).</summary>
    public IReadOnlyDictionary<string, object?> Arguments { get; internal set; } = new Dictionary<string, object?>();
    public List<StateUpdate> StateUpdates { get; } = [];

    /// <summary>A Keras mask (bool, [batch, time]) attached to <paramref name="value"/>, if any.</summary>
    public Value? MaskOf(Value value) => _masks.GetValueOrDefault(value.Name);
    public void SetMask(Value value, Value? mask)
    {
        if (mask is null) _masks.Remove(value.Name);
        else _masks[value.Name] = mask;
    }

    public T Argument<T>(string name, T defaultValue) =>
        Arguments.TryGetValue(name, out var v) && v is T t ? t : defaultValue;
}
