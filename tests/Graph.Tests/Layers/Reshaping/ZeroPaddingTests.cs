using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Reshaping;

public sealed class ZeroPaddingTests
{
    /// <summary>Spatial dims, Keras padding argument, expected (begin, end) per axis, channels_last.</summary>
    public static TheoryData<int[], int[][], int[], bool> Cases => new()
    {
        { [4], [[2]], [2, 2], true },
        { [4], [[1], [3]], [1, 3], true },
        { [3, 2], [[1]], [1, 1, 1, 1], true },
        { [3, 2], [[1], [2]], [1, 1, 2, 2], false },
        { [3, 2], [[0, 1], [2, 3]], [0, 1, 2, 3], true },
        { [2, 2, 2], [[1, 0], [0, 2], [1, 1]], [1, 0, 0, 2, 1, 1], false },
    };

    private static Layer Make(int rank, int[][] padding, bool channelsLast)
    {
        var c = new ZeroPaddingConfig { Padding = padding, DataFormat = channelsLast ? "channels_last" : "channels_first" };
        return rank switch { 1 => new ZeroPadding1D(c), 2 => new ZeroPadding2D(c), _ => new ZeroPadding3D(c) };
    }

    [Fact]
    public void EveryCasePassesOnnxChecker() =>
        OnnxChecker.Check(Cases.Select(c =>
        {
            var spatial = (int[])c[0];
            return LayerHarness.Export(Make(spatial.Length, (int[][])c[1], (bool)c[3]), Convolution.ConvTests.Dims((bool)c[3], 2, 2, spatial));
        }).ToArray());

    [Theory]
    [MemberData(nameof(Cases))]
    public void PadsWithZeros(int[] spatial, int[][] padding, int[] pairs, bool channelsLast)
    {
        var dims = Convolution.ConvTests.Dims(channelsLast, 2, 2, spatial);
        var x = Reference.Random(ConvReference.Count(dims), 33);
        var (y, yDims) = LayerHarness.Run(Make(spatial.Length, padding, channelsLast), x, dims);
        var (xc, xcDims) = channelsLast ? ConvReference.ToChannelsFirst(x, dims) : (x, dims);
        int[] eDims = [xcDims[0], xcDims[1], .. spatial.Select((d, i) => d + pairs[2 * i] + pairs[2 * i + 1])];
        var expected = new float[ConvReference.Count(eDims)];
        var k = 0;
        foreach (var o in ConvReference.Indices(eDims))
        {
            var off = o[0] * xcDims[1] + o[1];
            var inside = true;
            for (var i = 0; i < spatial.Length; i++)
            {
                var p = o[i + 2] - pairs[2 * i];
                if (p < 0 || p >= spatial[i]) inside = false;
                off = off * spatial[i] + p;
            }
            expected[k++] = inside ? xc[off] : 0;
        }
        if (channelsLast) (expected, eDims) = ConvReference.ToChannelsLast(expected, eDims);
        Assert.Equal(eDims, yDims);
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void RejectsNegativePadding() =>
        Assert.Contains("non-negative", Assert.Throws<ArgumentException>(() =>
            new ZeroPadding2D(new ZeroPaddingConfig { Padding = [[-1]] })).Message);
}
