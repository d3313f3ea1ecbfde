using NeuralService.Training.Data;

namespace NeuralService.Training.Tests.Data;

public sealed class TimeseriesTests
{
    private static DataArray Range(int n) => DataArray.Vector(Enumerable.Range(0, n).Select(i => (float)i).ToArray());

    [Fact]
    public void KerasStrideAndSamplingRateExample()
    {
        // Keras docs: indices 0..98, sequence_length=10, sampling_rate=2, sequence_stride=3.
        var ds = new TimeseriesDataset(Range(99), null, sequenceLength: 10, sequenceStride: 3, samplingRate: 2);
        var windows = ds.GetBatches().SelectMany(b => b.Features.As<float>().Chunk(10)).ToList();
        Assert.Equal([0, 2, 4, 6, 8, 10, 12, 14, 16, 18], windows[0]);
        Assert.Equal([3, 5, 7, 9, 11, 13, 15, 17, 19, 21], windows[1]);
        Assert.Equal([78, 80, 82, 84, 86, 88, 90, 92, 94, 96], windows[^1]);
        Assert.Equal([10], ds.FeatureShape); // 1-D data gives [batch, sequence_length], as in Keras
    }

    [Fact]
    public void KerasNextStepTargetsExample()
    {
        // Keras docs: input_data = data[:-10], targets = data[10:], sequence_length=10 → window 0..9 predicts 10.
        var data = Range(100);
        var input = data.Slice(0, 90);
        var targets = data.Slice(10, 90);
        var ds = new TimeseriesDataset(input, targets, sequenceLength: 10, batchSize: 32);
        var first = ds.GetBatches().First();
        Assert.Equal([32, 10], first.Features.Shape);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (float)i), first.Features.As<float>()[..10]);
        Assert.Equal(10f, first.Labels!.As<float>()[0]);
        Assert.Equal(81, ds.Count);
        var last = ds.GetBatches().Last();
        Assert.Equal(89f, last.Features.As<float>()[^1]);
        Assert.Equal(90f, last.Labels!.As<float>()[^1]);
    }

    [Fact]
    public void MultiFeatureRowsStartIndexAndShuffle()
    {
        var data = DataArray.Create(Enumerable.Range(0, 40).Select(i => (float)i).ToArray(), 20, 2);
        var ds = new TimeseriesDataset(data, null, sequenceLength: 3, startIndex: 5, endIndex: 15);
        Assert.Equal(8, ds.Count);
        var w = ds.GetBatches().First().Features;
        Assert.Equal([8, 3, 2], w.Shape);
        Assert.Equal(new[] { 10f, 11f, 12f, 13f, 14f, 15f }, w.As<float>()[..6]);

        var shuffled = new TimeseriesDataset(data, null, sequenceLength: 3, batchSize: 4, shuffle: true, seed: 3);
        var starts = shuffled.GetBatches().SelectMany(b => b.Features.As<float>().Chunk(6).Select(c => c[0] / 2)).ToArray();
        Assert.Equal(Enumerable.Range(0, 18).Select(i => (float)i), starts.Order());
        Assert.Equal(starts, new TimeseriesDataset(data, null, 3, batchSize: 4, shuffle: true, seed: 3).GetBatches()
            .SelectMany(b => b.Features.As<float>().Chunk(6).Select(c => c[0] / 2)));
    }

    [Fact]
    public void RealStocksMakeForecastWindows()
    {
        if (!File.Exists(Path.Combine(VegaDatasets.DataDirectory, "stocks.csv"))) return;
        var stocks = VegaDatasets.LoadStocks();
        var msft = stocks["MSFT"];
        var prices = DataArray.Vector(msft.Prices);
        var ds = new TimeseriesDataset(prices.Slice(0, prices.Count - 12), prices.Slice(12, prices.Count - 12), sequenceLength: 12, batchSize: 16);
        var b = ds.GetBatches().First();
        Assert.Equal(msft.Prices[12], b.Labels!.As<float>()[0]);
        Assert.Equal(msft.Prices[..12], b.Features.As<float>()[..12]);
    }
}
