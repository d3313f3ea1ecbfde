using NeuralService.Training.Data;
using NeuralService.Training.Tests.Support;

namespace NeuralService.Training.Tests.Data;

public sealed class BuiltinDatasetsTests
{
    private static bool Installed => File.Exists(Path.Combine(BuiltinDatasets.FashionMnistDirectory, "t10k-labels-idx1-ubyte.gz"));

    [Fact]
    public void FashionMnistTrainAndTestMatchTheFiles()
    {
        if (!Installed) return;
        var train = BuiltinDatasets.Load("fashion-mnist");
        Assert.Equal([60000, 28, 28], train.Features.Shape);
        Assert.Equal(DType.UInt8, train.Features.DType);
        var y = train.Labels!.ToInt64();
        Assert.Equal(60000, y.Length);
        Assert.Equal(9, y[0]); // the first training image is an ankle boot (checked with the file's bytes)
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), y.Distinct().Order());
        Assert.Equal(76247, train.Features.Slice(0, 1).As<byte>().Sum(b => b));
        Assert.Equal("Ankle boot", train.ClassNames![9]);

        var test = BuiltinDatasets.Load("fashion-mnist:test");
        Assert.Equal([10000, 28, 28], test.Features.Shape);
        Assert.Equal(new long[] { 9, 2, 1, 1, 6 }, test.Labels!.ToInt64()[..5]);
    }

    [Fact]
    public void FashionMnistStreamsTheSameFirstBatch()
    {
        if (!Installed) return;
        var first = BuiltinDatasets.Stream("fashion-mnist:test", batchSize: 4, scale: 1 / 255f).GetBatches().First();
        var memory = BuiltinDatasets.Load("fashion-mnist:test");
        Assert.Equal([4, 28, 28], first.Features.Shape);
        var expected = memory.Features.Slice(0, 4).ToFloat32().Select(v => v * (1 / 255f)).ToArray();
        Assert.Equal(expected, first.Features.As<float>());
    }

    [Fact]
    public void MissingPackageIsNamed()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => BuiltinDatasets.Load("fashion-mnist", dir.Path));
        Assert.Contains("dataset-fashion-mnist", e.Message);
        Assert.Contains("unknown dataset 'cifar10'", Assert.Throws<ArgumentException>(() => BuiltinDatasets.Load("cifar10")).Message);
    }
}
