using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Convolution;

public sealed class DepthwiseConvTests
{
    public static TheoryData<int, int[], int, int, int[], int[], int[], string, bool> Cases => new()
    {
        { 1, [9], 3, 1, [3], [1], [1], "valid", true },
        { 1, [9], 2, 2, [3], [2], [1], "same", false },
        { 1, [8], 2, 3, [2], [1], [2], "causal", true },
        { 2, [6, 5], 3, 2, [3, 3], [1, 1], [1, 1], "same", true },
        { 2, [7, 7], 2, 1, [3, 2], [2, 2], [1, 1], "valid", false },
        { 2, [7, 7], 2, 2, [3, 3], [1, 1], [2, 2], "same", false },
    };

    private static (BaseDepthwiseConv Layer, int[] Dims) Case(int rank, int[] spatial, int inCh, int m, int[] k, int[] s, int[] d, string padding, bool channelsLast)
    {
        var c = new DepthwiseConvConfig
        {
            DepthMultiplier = m, KernelSize = k, Strides = s, DilationRate = d, Padding = padding,
            DataFormat = channelsLast ? "channels_last" : "channels_first",
        };
        BaseDepthwiseConv layer = rank == 1 ? new DepthwiseConv1D(c) : new DepthwiseConv2D(c);
        return (layer, ConvTests.Dims(channelsLast, 2, inCh, spatial));
    }

    [Fact]
    public void EveryCasePassesOnnxChecker() =>
        OnnxChecker.Check(Cases.Select(c =>
        {
            var (layer, dims) = Case((int)c[0], (int[])c[1], (int)c[2], (int)c[3], (int[])c[4], (int[])c[5], (int[])c[6], (string)c[7], (bool)c[8]);
            return LayerHarness.Export(layer, dims);
        }).ToArray());

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPlainLoops(int rank, int[] spatial, int inCh, int m, int[] k, int[] s, int[] d, string padding, bool channelsLast)
    {
        var (layer, dims) = Case(rank, spatial, inCh, m, k, s, d, padding, channelsLast);
        var x = Reference.Random(ConvReference.Count(dims), 8);
        var bias = Reference.Random(inCh * m, 9);
        var (y, yDims) = LayerHarness.Run(layer, x, dims, afterBuild: () => layer.Bias!.Assign(bias));

        var (xc, xcDims) = channelsLast ? ConvReference.ToChannelsFirst(x, dims) : (x, dims);
        var (begin, end) = ConvTests.Pads(padding, spatial, k, s, d);
        int[] wDims = [inCh * m, 1, .. k];
        var (expected, eDims) = ConvReference.Conv(xc, xcDims, layer.Kernel.Data, wDims, bias, s, d, begin, end, groups: inCh);
        if (channelsLast) (expected, eDims) = ConvReference.ToChannelsLast(expected, eDims);
        Assert.Equal(eDims, yDims);
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void CountsParametersAndFansLikeKeras()
    {
        var layer = new DepthwiseConv2D(new DepthwiseConvConfig { DepthMultiplier = 4, KernelSize = [3] });
        _ = layer.Apply(Input.Of(5, 5, 16));
        Assert.Equal(16 * 4 * 9 + 64, layer.CountParams());
        // Keras's depthwise kernel is [3, 3, in, m]: fans 9·16 and 9·4.
        var limit = Math.Sqrt(6.0 / (9 * 16 + 9 * 4));
        Assert.InRange(layer.Kernel.Data.Max(Math.Abs), 0.95 * limit, limit);
    }
}
