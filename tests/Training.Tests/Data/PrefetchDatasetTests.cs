using NeuralService.Training.Data;

namespace NeuralService.Training.Tests.Data;

public sealed class PrefetchDatasetTests
{
    private static InMemoryDataset Numbers(int n) => new(
        DataArray.Create(Enumerable.Range(0, n).Select(i => (float)i).ToArray(), n, 1),
        DataArray.Vector(Enumerable.Range(0, n).Select(i => (long)i).ToArray()));

    [Fact]
    public void YieldsTheSameBatchesInTheSameOrder()
    {
        var inner = Numbers(100).Batches(7, shuffle: true, seed: 9);
        var direct = inner.GetBatches(2).Select(b => b.Features.As<float>()).ToList();
        var prefetched = inner.Prefetch(3).GetBatches(2).Select(b => b.Features.As<float>()).ToList();
        Assert.Equal(direct, prefetched);
        Assert.Equal(inner.BatchCount, inner.Prefetch().BatchCount);
    }

    [Fact]
    public void ProducesOnAnotherThread()
    {
        var threads = new ThrowingOrRecording();
        foreach (var _ in threads.Prefetch().GetBatches()) { }
        Assert.NotEqual(Environment.CurrentManagedThreadId, threads.ProducerThread);
    }

    [Fact]
    public void ReaderErrorsReachTheConsumer()
    {
        var e = Assert.Throws<IOException>(() => new ThrowingOrRecording(throwAfter: 2).Prefetch().GetBatches().ToList());
        Assert.Contains("broken file", e.Message);
    }

    [Fact]
    public void StoppingEarlyEndsTheProducer()
    {
        var src = new ThrowingOrRecording(count: 1000);
        Assert.Single(src.Prefetch(2).GetBatches().Take(1));
        // The producer stops after at most buffer + 2 batches (one blocked in Add, one being made).
        Assert.InRange(src.Produced, 1, 5);
    }

    private sealed class ThrowingOrRecording(int count = 5, int throwAfter = -1) : IDataset
    {
        public int ProducerThread { get; private set; }

        public int Produced { get; private set; }

        public IReadOnlyList<int> FeatureShape => [1];

        public int? BatchCount => count;

        public IEnumerable<Batch> GetBatches(int epoch = 0)
        {
            ProducerThread = Environment.CurrentManagedThreadId;
            for (int i = 0; i < count; i++)
            {
                if (i == throwAfter) throw new IOException("broken file");
                Produced++;
                yield return new Batch(DataArray.Create(new[] { (float)i }, 1, 1));
            }
        }
    }
}
