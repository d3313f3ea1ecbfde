using NeuralService.Training.Data;

namespace NeuralService.Training.Tests.Data;

/// <summary>Datasets with several feature and target arrays: every array of a sample stays with it through shuffling,
/// batching, splitting and prefetching.</summary>
public sealed class MultiArrayDatasetTests
{
    // Sample i holds i in "a", 10·i in both columns of "b", 100·i in target "t" and i/100 as its weight.
    private static InMemoryDataset Numbers(int n) => new(
        DataArrays.Named(
            ("a", DataArray.Create(Enumerable.Range(0, n).Select(i => (float)i).ToArray(), n, 1)),
            ("b", DataArray.Create(Enumerable.Range(0, n).SelectMany(i => new long[] { 10L * i, 10L * i }).ToArray(), n, 2))),
        DataArrays.Of(DataArray.Vector(Enumerable.Range(0, n).Select(i => 100f * i).ToArray()), DataArray.Vector(new float[n])),
        Enumerable.Range(0, n).Select(i => i / 100f).ToArray());

    private static void AssertAligned(Batch b)
    {
        var a = b.Inputs["a"].As<float>();
        var bb = b.Inputs["b"].As<long>();
        var t = b.Targets![0].As<float>();
        for (var i = 0; i < b.Count; i++)
        {
            Assert.Equal(10L * (long)a[i], bb[2 * i]);
            Assert.Equal(10L * (long)a[i], bb[2 * i + 1]);
            Assert.Equal(100f * a[i], t[i]);
            Assert.Equal(a[i] / 100f, b.SampleWeights![i], 6);
        }
    }

    [Fact]
    public void ShuffledBatchesKeepEverySamplesArraysTogether()
    {
        var batches = Numbers(23).Batches(5, shuffle: true, seed: 9).GetBatches(2).ToList();
        Assert.Equal([5, 5, 5, 5, 3], batches.Select(b => b.Count));
        Assert.All(batches, AssertAligned);
        Assert.Equal(Enumerable.Range(0, 23).Select(i => (float)i), batches.SelectMany(b => b.Inputs["a"].As<float>()).Order());
        Assert.Equal(["a", "b"], batches[0].Inputs.Names);
        Assert.Equal(2, batches[0].Targets!.Count);
    }

    [Fact]
    public void SplitAndPrefetchKeepTheArrays()
    {
        var (train, validation) = Numbers(20).Split(0.25);
        Assert.Equal(15, train.Count);
        Assert.Equal([15f, 16f, 17f, 18f, 19f], validation.Inputs["a"].As<float>());
        Assert.Equal(2, validation.Targets!.Count);
        var prefetched = train.Batches(4, shuffle: true, seed: 1).Prefetch(2).GetBatches(0).ToList();
        Assert.Equal(train.Batches(4, shuffle: true, seed: 1).GetBatches(0).SelectMany(b => b.Inputs["b"].As<long>()),
            prefetched.SelectMany(b => b.Inputs["b"].As<long>()));
        Assert.All(prefetched, AssertAligned);
    }

    [Fact]
    public void OneArrayAccessorsRefuseSeveralArrays()
    {
        var data = Numbers(4);
        Assert.Contains("2 input arrays ('a', 'b'); read them from Inputs", Assert.Throws<InvalidOperationException>(() => data.Features).Message);
        Assert.Contains("2 target arrays (#0, #1); read them from Targets", Assert.Throws<InvalidOperationException>(() => data.Labels).Message);
        var single = new InMemoryDataset(DataArray.Create(new float[4], 4, 1), DataArray.Vector(new long[4]));
        Assert.Same(single.Inputs[0], single.Features);
        Assert.Same(single.Targets![0], single.Labels);
    }

    [Fact]
    public void ArraysMatchByNameOrOrderAndNameWhatIsWrong()
    {
        var x = DataArray.Create(new float[6], 3, 2);
        var y = DataArray.Create(new float[3], 3, 1);
        Assert.Equal([y, x], DataArrays.Named(("q", x), ("p", y)).Match(["p", "q"], "input"));
        Assert.Equal([x, y], DataArrays.Of(x, y).Match(["p", "q"], "input"));
        Assert.Equal("the model has 2 outputs (p, q) but the data has 1 output array",
            Assert.Throws<ArgumentException>(() => DataArrays.Of(x).Match(["p", "q"], "output")).Message);
        Assert.Equal("no data for the model's input 'q' (data arrays: p)",
            Assert.Throws<ArgumentException>(() => DataArrays.Named(("p", x)).Match(["p", "q"], "input")).Message);
        Assert.Contains("array 'b' has 2 samples but 'a' has 3",
            Assert.Throws<ArgumentException>(() => DataArrays.Named(("a", x), ("b", DataArray.Create(new float[2], 2)))).Message);
        Assert.Contains("array name 'a' is given twice", Assert.Throws<ArgumentException>(() => DataArrays.Named(("a", x), ("a", y))).Message);
        Assert.Contains("labels have 3 samples but features have 2",
            Assert.Throws<ArgumentException>(() => new InMemoryDataset(DataArrays.Of(DataArray.Create(new float[2], 2)), DataArrays.Of(y))).Message);
    }
}
