namespace NeuralService.Training.Data;

/// <summary>One mini-batch: feature arrays [n, ...], optional target arrays [n, ...] and optional per-sample weights [n].
/// One-input, one-output batches read <see cref="Features"/> and <see cref="Labels"/>.</summary>
public sealed class Batch
{
    public Batch(DataArray features, DataArray? labels = null, float[]? sampleWeights = null)
        : this(DataArrays.Of(features), labels is null ? null : DataArrays.Of(labels), sampleWeights)
    {
    }

    public Batch(DataArrays inputs, DataArrays? targets, float[]? sampleWeights = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        Inputs = inputs;
        Targets = targets;
        SampleWeights = sampleWeights;
    }

    public DataArrays Inputs { get; }

    public DataArrays? Targets { get; }

    public float[]? SampleWeights { get; }

    /// <summary>The features of a one-input batch.</summary>
    public DataArray Features => Inputs.Count == 1 ? Inputs[0]
        : throw new InvalidOperationException($"the batch has {Inputs.Count} input arrays ({string.Join(", ", Inputs.Labels)}); read them from {nameof(Inputs)}");

    /// <summary>The labels of a one-output batch (null without labels).</summary>
    public DataArray? Labels => Targets is null ? null : Targets.Count == 1 ? Targets[0]
        : throw new InvalidOperationException($"the batch has {Targets.Count} target arrays ({string.Join(", ", Targets.Labels)}); read them from {nameof(Targets)}");

    public int Count => Inputs.SampleCount;
}
