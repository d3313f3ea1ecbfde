namespace NeuralService.Training.Data;

/// <summary>
/// Cuts an <see cref="InMemoryDataset"/> into batches. With shuffling, each epoch's order is a Fisher–Yates
/// permutation seeded by (seed, epoch): reproducible run to run, different epoch to epoch.
/// </summary>
public sealed class BatchIterator : IDataset
{
    private readonly InMemoryDataset _data;

    public BatchIterator(InMemoryDataset data, int batchSize, bool shuffle = false, int seed = 0, bool dropRemainder = false)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive");
        _data = data;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropRemainder = dropRemainder;
    }

    public int BatchSize { get; }

    public bool Shuffle { get; }

    public int Seed { get; }

    public bool DropRemainder { get; }

    /// <summary>Each batch's arrays are refilled by the next batch of the same size instead of new ones: for a consumer
    /// that is done with a batch before it asks for the next (the trainer's step, evaluation and prediction loops).</summary>
    internal bool ReuseBatches { get; init; }

    public IReadOnlyList<int> FeatureShape => _data.Inputs[0].SampleShape;

    public int? BatchCount => DropRemainder ? _data.Count / BatchSize : (_data.Count + BatchSize - 1) / BatchSize;

    /// <summary>The sample order of <paramref name="epoch"/>.</summary>
    public int[] Order(int epoch)
    {
        var order = Enumerable.Range(0, _data.Count).ToArray();
        if (Shuffle) DatasetExtensions.Shuffle(order, new Random(DatasetExtensions.EpochSeed(Seed, epoch)));
        return order;
    }

    public IEnumerable<Batch> GetBatches(int epoch = 0)
    {
        var order = Order(epoch);
        int n = BatchCount!.Value;
        InMemoryDataset? last = null;
        for (int b = 0; b < n; b++)
        {
            int start = b * BatchSize;
            int count = Math.Min(BatchSize, order.Length - start);
            var part = _data.Take(order.AsSpan(start, count), ReuseBatches ? last : null);
            last = part;
            yield return new Batch(part.Inputs, part.Targets, part.SampleWeights);
        }
    }
}
