namespace NeuralService.Training.Data;

/// <summary>
/// A source of mini-batches, read one epoch at a time. Implementations either hold their samples
/// (<see cref="InMemoryDataset"/> batched by <see cref="BatchIterator"/>) or stream them from files
/// (<see cref="StreamingDataset"/>), so training loops never need to know which.
/// </summary>
public interface IDataset
{
    /// <summary>Shape of one sample's features (without the batch axis; the first input's when there are several).</summary>
    IReadOnlyList<int> FeatureShape { get; }

    /// <summary>Batches in one epoch, or null when a stream does not know before reading it.</summary>
    int? BatchCount { get; }

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/>. Shuffling datasets derive that epoch's order from their seed
    /// and the epoch number, so the same (seed, epoch) always gives the same batches.
    /// </summary>
    IEnumerable<Batch> GetBatches(int epoch = 0);
}

/// <summary>Shared helpers for datasets.</summary>
public static class DatasetExtensions
{
    /// <summary>Wraps <paramref name="dataset"/> so the next <paramref name="bufferSize"/> batches are prepared on a background thread.</summary>
    public static PrefetchDataset Prefetch(this IDataset dataset, int bufferSize = 1) => new(dataset, bufferSize);

    /// <summary>Seed for one epoch's shuffle: distinct per epoch, fixed for a (seed, epoch) pair.</summary>
    internal static int EpochSeed(int seed, int epoch) => unchecked(seed * 1_000_003 + epoch * 7919 + 17);

    /// <summary>Fisher–Yates shuffle driven by a seeded <see cref="Random"/> (its seeded sequence is stable across .NET versions).</summary>
    internal static void Shuffle(Span<int> order, Random rng)
    {
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
    }
}
