namespace NeuralService.Training.Data;

/// <summary>
/// Samples held in memory: features x [n, ...], optional labels y [n, ...] and optional sample weights [n]
/// (Keras's <c>fit(x, y, sample_weight=...)</c> arrays).
/// </summary>
public sealed class InMemoryDataset
{
    public InMemoryDataset(DataArray features, DataArray? labels = null, float[]? sampleWeights = null, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (labels is not null && labels.Count != features.Count)
            throw new ArgumentException($"labels have {labels.Count} samples but features have {features.Count}", nameof(labels));
        if (sampleWeights is not null && sampleWeights.Length != features.Count)
            throw new ArgumentException($"sample weights have {sampleWeights.Length} entries but features have {features.Count} samples", nameof(sampleWeights));
        Features = features;
        Labels = labels;
        SampleWeights = sampleWeights;
        ClassNames = classNames;
    }

    public DataArray Features { get; }

    public DataArray? Labels { get; }

    public float[]? SampleWeights { get; }

    /// <summary>Names of the label classes where the loader knows them (folder or file names), index = label.</summary>
    public IReadOnlyList<string>? ClassNames { get; }

    public int Count => Features.Count;

    /// <summary>Batches of <paramref name="batchSize"/>, reshuffled each epoch when <paramref name="shuffle"/> is set.</summary>
    public BatchIterator Batches(int batchSize = 32, bool shuffle = false, int seed = 0, bool dropRemainder = false) =>
        new(this, batchSize, shuffle, seed, dropRemainder);

    /// <summary>The samples at <paramref name="indices"/>, in that order.</summary>
    public InMemoryDataset Take(ReadOnlySpan<int> indices)
    {
        float[]? w = null;
        if (SampleWeights is not null)
        {
            w = new float[indices.Length];
            for (int i = 0; i < indices.Length; i++) w[i] = SampleWeights[indices[i]];
        }
        return new InMemoryDataset(Features.Take(indices), Labels?.Take(indices), w, ClassNames);
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
}
