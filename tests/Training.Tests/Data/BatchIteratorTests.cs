using NeuralService.Training.Data;

namespace NeuralService.Training.Tests.Data;

public sealed class BatchIteratorTests
{
    private static InMemoryDataset Numbers(int n) => new(
        DataArray.Create(Enumerable.Range(0, n).Select(i => (float)i).ToArray(), n, 1),
        DataArray.Vector(Enumerable.Range(0, n).Select(i => (long)i * 10).ToArray()),
        Enumerable.Range(0, n).Select(i => i / 100f).ToArray());

    private static float[] Flat(IEnumerable<Batch> batches) => batches.SelectMany(b => b.Features.As<float>()).ToArray();

    [Fact]
    public void UnshuffledBatchesKeepOrderAndRemainder()
    {
        var batches = Numbers(10).Batches(4).GetBatches().ToList();
        Assert.Equal([4, 4, 2], batches.Select(b => b.Count));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (float)i), Flat(batches));
        Assert.Equal(new long[] { 80, 90 }, batches[2].Labels!.As<long>());
        Assert.Equal(new[] { 0.08f, 0.09f }, batches[2].SampleWeights);
    }

    [Fact]
    public void ReusedBatchesRefillOneSetOfArraysWithTheSameValues()
    {
        var data = Numbers(10);
        var fresh = data.Batches(4, shuffle: true, seed: 7).GetBatches(1).Select(b => (b.Features.As<float>().ToArray(), b.Labels!.As<long>().ToArray(), b.SampleWeights!.ToArray())).ToList();
        var reused = new BatchIterator(data, 4, shuffle: true, seed: 7) { ReuseBatches = true };
        var arrays = new List<Array>();
        var i = 0;
        foreach (var b in reused.GetBatches(1))
        {
            Assert.Equal(fresh[i].Item1, b.Features.As<float>());
            Assert.Equal(fresh[i].Item2, b.Labels!.As<long>());
            Assert.Equal(fresh[i].Item3, b.SampleWeights);
            arrays.Add(b.Features.Data);
            i++;
        }
        Assert.Equal(3, i);
        // The two full batches share their arrays; the short last one has its own.
        Assert.Same(arrays[0], arrays[1]);
        Assert.NotSame(arrays[1], arrays[2]);
    }

    [Fact]
    public void DropRemainderDropsTheShortBatch()
    {
        var it = Numbers(10).Batches(4, dropRemainder: true);
        Assert.Equal(2, it.BatchCount);
        Assert.Equal(2, it.GetBatches().Count());
    }

    [Fact]
    public void ShuffleIsReproducibleAndAPermutation()
    {
        var data = Numbers(50);
        var a = Flat(data.Batches(8, shuffle: true, seed: 42).GetBatches(3));
        var b = Flat(data.Batches(8, shuffle: true, seed: 42).GetBatches(3));
        Assert.Equal(a, b);
        Assert.NotEqual(Enumerable.Range(0, 50).Select(i => (float)i), a);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (float)i), a.Order());
        // Labels and weights travel with their features.
        foreach (var batch in data.Batches(8, shuffle: true, seed: 42).GetBatches(3))
            for (int i = 0; i < batch.Count; i++)
            {
                Assert.Equal((long)batch.Features.As<float>()[i] * 10, batch.Labels!.As<long>()[i]);
                Assert.Equal(batch.Features.As<float>()[i] / 100f, batch.SampleWeights![i], 6);
            }
    }

    [Fact]
    public void EpochsAndSeedsGiveDifferentOrders()
    {
        var it = Numbers(50).Batches(8, shuffle: true, seed: 42);
        Assert.NotEqual(Flat(it.GetBatches(0)), Flat(it.GetBatches(1)));
        Assert.NotEqual(Flat(it.GetBatches(0)), Flat(Numbers(50).Batches(8, shuffle: true, seed: 43).GetBatches(0)));
    }

    [Fact]
    public void ValidationSplitTakesTheTail()
    {
        var (train, val) = Numbers(10).Split(0.2);
        Assert.Equal(8, train.Count);
        Assert.Equal(new[] { 8f, 9f }, val.Features.As<float>());
    }

    [Fact]
    public void MismatchedLabelsAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => new InMemoryDataset(DataArray.Create(new float[6], 3, 2), DataArray.Vector(new long[2])));
        Assert.Contains("2 samples", e.Message);
    }
}
