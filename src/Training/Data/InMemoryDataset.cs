namespace NeuralService.Training.Data;

/// <summary>
/// Samples held in memory: feature arrays x [n, ...], optional target arrays y [n, ...] and optional sample weights
/// [n] (Keras's <c>fit(x, y, sample_weight=...)</c>). x and y are each one array, or several (<see cref="DataArrays"/>:
/// a list matched to the model's inputs/outputs by order, or a dict matched by name).
/// </summary>
public sealed class InMemoryDataset
{
    public InMemoryDataset(DataArray features, DataArray? labels = null, float[]? sampleWeights = null, IReadOnlyList<string>? classNames = null)
        : this(DataArrays.Of(features ?? throw new ArgumentNullException(nameof(features))), labels is null ? null : DataArrays.Of(labels), sampleWeights, classNames)
    {
    }

    public InMemoryDataset(DataArrays inputs, DataArrays? targets, float[]? sampleWeights = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (targets is not null && targets.SampleCount != inputs.SampleCount)
            throw new ArgumentException($"labels have {targets.SampleCount} samples but features have {inputs.SampleCount}", nameof(targets));
        if (sampleWeights is not null && sampleWeights.Length != inputs.SampleCount)
            throw new ArgumentException($"sample weights have {sampleWeights.Length} entries but features have {inputs.SampleCount} samples", nameof(sampleWeights));
        Inputs = inputs;
        Targets = targets;
        SampleWeights = sampleWeights;
        ClassNames = classNames;
    }

    /// <summary>Every feature array (one per model input).</summary>
    public DataArrays Inputs { get; }

    /// <summary>Every target array (one per model output), or null without labels.</summary>
    public DataArrays? Targets { get; }

    /// <summary>The feature array of a one-input dataset.</summary>
    public DataArray Features => Single(Inputs, "input");

    /// <summary>The labels of a one-output dataset (null without labels).</summary>
    public DataArray? Labels => Targets is null ? null : Single(Targets, "target");

    public float[]? SampleWeights { get; }

    /// <summary>Names of the label classes where the loader knows them (folder or file names), index = label.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    public int Count => Inputs.SampleCount;

    /// <summary>Batches of <paramref name="batchSize"/>, reshuffled each epoch when <paramref name="shuffle"/> is set.</summary>
    public BatchIterator Batches(int batchSize = 32, bool shuffle = false, int seed = 0, bool dropRemainder = false) =>
        new(this, batchSize, shuffle, seed, dropRemainder);

    /// <summary>The samples at <paramref name="indices"/>, in that order.</summary>
    public InMemoryDataset Take(ReadOnlySpan<int> indices) => Take(indices, null);

    /// <summary>As <see cref="Take(ReadOnlySpan{int})"/>, refilling <paramref name="reuse"/>'s arrays where they fit
    /// (a batch buffer, <see cref="BatchIterator.ReuseBatches"/>).</summary>
    internal InMemoryDataset Take(ReadOnlySpan<int> indices, InMemoryDataset? reuse)
    {
        float[]? w = null;
        if (SampleWeights is not null)
        {
            w = reuse?.SampleWeights is { } old && old.Length == indices.Length ? old : new float[indices.Length];
            for (int i = 0; i < indices.Length; i++) w[i] = SampleWeights[indices[i]];
        }
        var inputs = Inputs.Take(indices, reuse?.Inputs);
        var targets = Targets?.Take(indices, reuse?.Targets);
        return reuse is not null && ReferenceEquals(inputs, reuse.Inputs) && ReferenceEquals(targets, reuse.Targets) && ReferenceEquals(w, reuse.SampleWeights)
            ? reuse
            : new InMemoryDataset(inputs, targets, w, ClassNames);
    }

    /// <summary>
    /// Keras's <c>validation_split</c>: the last <paramref name="validationFraction"/> of the samples (in their current
    /// order, before any shuffling) become the validation set.
    /// </summary>
    public (InMemoryDataset Train, InMemoryDataset Validation) Split(double validationFraction)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "validation fraction must be in (0, 1)");
        int nVal = (int)(Count * validationFraction);
        int nTrain = Count - nVal;
        return (Take(Enumerable.Range(0, nTrain).ToArray()), Take(Enumerable.Range(nTrain, nVal).ToArray()));
    }

    private static DataArray Single(DataArrays arrays, string kind) => arrays.Count == 1
        ? arrays[0]
        : throw new InvalidOperationException($"the dataset has {arrays.Count} {kind} arrays ({string.Join(", ", arrays.Labels)}); read them from {(kind == "input" ? nameof(Inputs) : nameof(Targets))}");
}
