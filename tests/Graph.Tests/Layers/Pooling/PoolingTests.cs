using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Pooling;

public sealed class PoolingTests
{
    public static TheoryData<bool, int[], int, int[], int[]?, string, bool> Cases => new()
    {
        { true, [9], 3, [2], null, "valid", true },
        { false, [9], 2, [3], [2], "same", true },
        { true, [7, 6], 3, [3, 3], [2, 2], "same", true },
        { false, [7, 6], 2, [3, 2], [2, 1], "same", false },
        { false, [6, 7], 3, [2, 2], null, "valid", true },
        { true, [5, 5], 2, [2, 3], [1, 2], "valid", false },
        { true, [4, 5, 3], 2, [2, 2, 2], null, "same", true },
        { false, [5, 4, 5], 2, [3, 2, 2], [2, 2, 3], "same", false },
    };

    private static (BasePooling Layer, int[] Dims) Case(bool max, int[] spatial, int channels, int[] pool, int[]? strides, string padding, bool channelsLast)
    {
        var c = new PoolingConfig { PoolSize = pool, Strides = strides, Padding = padding, DataFormat = channelsLast ? "channels_last" : "channels_first" };
        BasePooling layer = (max, spatial.Length) switch
        {
            (true, 1) => new MaxPooling1D(c),
            (true, 2) => new MaxPooling2D(c),
            (true, _) => new MaxPooling3D(c),
            (false, 1) => new AveragePooling1D(c),
            (false, 2) => new AveragePooling2D(c),
            (false, _) => new AveragePooling3D(c),
        };
        return (layer, Convolution.ConvTests.Dims(channelsLast, 2, channels, spatial));
    }

    [Fact]
    public void EveryCasePassesOnnxChecker() =>
        OnnxChecker.Check(Cases.Select(c =>
        {
            var (layer, dims) = Case((bool)c[0], (int[])c[1], (int)c[2], (int[])c[3], (int[]?)c[4], (string)c[5], (bool)c[6]);
            return LayerHarness.Export(layer, dims);
        }).ToArray());

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPlainLoops(bool max, int[] spatial, int channels, int[] pool, int[]? strides, string padding, bool channelsLast)
    {
        var (layer, dims) = Case(max, spatial, channels, pool, strides, padding, channelsLast);
        var x = Reference.Random(ConvReference.Count(dims), 12);
        var (y, yDims) = LayerHarness.Run(layer, x, dims);

        var s = strides ?? pool;
        var ones = Enumerable.Repeat(1, pool.Length).ToArray();
        var (begin, end) = Convolution.ConvTests.Pads(padding, spatial, pool, s, ones);
        var (xc, xcDims) = channelsLast ? ConvReference.ToChannelsFirst(x, dims) : (x, dims);
        var (expected, eDims) = ConvReference.Pool(xc, xcDims, pool, s, begin, end, max);
        if (channelsLast) (expected, eDims) = ConvReference.ToChannelsLast(expected, eDims);
        Assert.Equal(eDims, yDims);
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void SameAveragePoolingDoesNotCountPadding()
    {
        // Ones everywhere: any window that counted padded zeros would average below 1.
        var layer = new AveragePooling2D(new PoolingConfig { PoolSize = [3], Strides = [1], Padding = "same" });
        var (y, _) = LayerHarness.Run(layer, Enumerable.Repeat(1f, 2 * 4 * 4).ToArray(), [1, 4, 4, 2]);
        Assert.All(y, v => Assert.Equal(1f, v, 6));
    }

    [Fact]
    public void StridesDefaultToPoolSize()
    {
        var layer = new MaxPooling2D(new PoolingConfig { PoolSize = [3, 2] });
        Assert.Equal([3L, 2], layer.Strides);
        var shape = layer.Apply(Input.Of(7, 7, 4)).Shape;
        Assert.Equal([2L, 3, 4], shape.Skip(1).ToArray());
    }
}
