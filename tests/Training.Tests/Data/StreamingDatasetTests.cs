using System.Globalization;
using NeuralService.Training.Data;
using NeuralService.Training.Tests.Support;

namespace NeuralService.Training.Tests.Data;

public sealed class StreamingDatasetTests
{
    private static string WriteCsv(TempDir dir, int rows)
    {
        var path = dir.File("big.csv");
        using var w = new StreamWriter(path);
        w.WriteLine("a,b,label");
        for (int i = 0; i < rows; i++) w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{i},{i * 0.5},{i % 3}"));
        return path;
    }

    [Fact]
    public void CsvStreamNeverHoldsMoreThanABatch()
    {
        using var dir = new TempDir();
        var ds = new CsvDataset(WriteCsv(dir, 1000), new CsvOptions { LabelColumn = "label", LabelType = DType.Int64 }, batchSize: 16);
        int samples = 0, batches = 0;
        foreach (var b in ds.GetBatches())
        {
            samples += b.Count;
            batches++;
            Assert.Equal([b.Count, 2], b.Features.Shape);
        }
        Assert.Equal(1000, samples);
        Assert.Equal(63, batches);
        Assert.InRange(ds.PeakHeldSamples, 1, 16);
    }

    [Fact]
    public void ShuffleBufferBoundsMemoryAndIsReproducible()
    {
        using var dir = new TempDir();
        var path = WriteCsv(dir, 300);
        var opts = new CsvOptions { LabelColumn = "label", LabelType = DType.Int64 };
        var a = new CsvDataset(path, opts, batchSize: 10, shuffleBuffer: 32, seed: 5);
        var first = a.GetBatches(1).SelectMany(b => b.Features.As<float>().Where((_, i) => i % 2 == 0)).ToArray();
        var again = new CsvDataset(path, opts, batchSize: 10, shuffleBuffer: 32, seed: 5)
            .GetBatches(1).SelectMany(b => b.Features.As<float>().Where((_, i) => i % 2 == 0)).ToArray();
        Assert.Equal(first, again);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => (float)i), first.Order());
        Assert.NotEqual(Enumerable.Range(0, 300).Select(i => (float)i), first);
        Assert.InRange(a.PeakHeldSamples, 32, 32 + 10);
    }

    [Fact]
    public void BadLineFailsWithItsNumberThroughThePrefetcher()
    {
        using var dir = new TempDir();
        var path = dir.File("bad.csv");
        File.WriteAllText(path, "a,label\n1,0\n2,1\n3,1\nfour,0\n5,1\n");
        var ds = new CsvDataset(path, new CsvOptions { LabelColumn = "label" }, batchSize: 2);
        var e = Assert.Throws<DataFormatException>(() => ds.Prefetch().GetBatches().ToList());
        Assert.Contains("bad.csv:5:", e.Message);
        Assert.Contains("'four'", e.Message);
    }

    [Fact]
    public void LabelsFollowTheirRows()
    {
        using var dir = new TempDir();
        var ds = new CsvDataset(WriteCsv(dir, 50), new CsvOptions { LabelColumn = "label", LabelType = DType.Int64 }, batchSize: 7, shuffleBuffer: 8, seed: 1);
        foreach (var b in ds.GetBatches())
            for (int i = 0; i < b.Count; i++)
                Assert.Equal((long)b.Features.As<float>()[2 * i] % 3, b.Labels!.As<long>()[i]);
    }
}
