using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Convolution;

public sealed class SeparableConvTests
{
    public static TheoryData<int, int[], int, int, int, int[], int[], int[], string, bool> Cases => new()
    {
        { 1, [9], 3, 1, 4, [3], [1], [1], "valid", true },
        { 1, [9], 2, 2, 3, [3], [2], [1], "same", false },
        { 2, [6, 5], 3, 2, 5, [3, 3], [1, 1], [1, 1], "same", true },
        { 2, [7, 7], 2, 1, 3, [3, 2], [2, 2], [1, 1], "valid", false },
        { 2, [8, 8], 2, 1, 2, [3, 3], [1, 1], [2, 2], "valid", true },
    };

    private static (BaseSeparableConv Layer, int[] Dims) Case(int rank, int[] spatial, int inCh, int m, int filters, int[] k, int[] s, int[] d, string padding, bool channelsLast)
    {
        var c = new SeparableConvConfig
        {
            DepthMultiplier = m, Filters = filters, KernelSize = k, Strides = s, DilationRate = d, Padding = padding,
            DataFormat = channelsLast ? "channels_last" : "channels_first",
        };
        BaseSeparableConv layer = rank == 1 ? new SeparableConv1D(c) : new SeparableConv2D(c);
        return (layer, ConvTests.Dims(channelsLast, 2, inCh, spatial));
    }

    [Fact]
    public void EveryCasePassesOnnxChecker() =>
        OnnxChecker.Check(Cases.Select(c =>
        {
            var (layer, dims) = Case((int)c[0], (int[])c[1], (int)c[2], (int)c[3], (int)c[4], (int[])c[5], (int[])c[6], (int[])c[7], (string)c[8], (bool)c[9]);
            return LayerHarness.Export(layer, dims);
        }).ToArray());

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPlainLoops(int rank, int[] spatial, int inCh, int m, int filters, int[] k, int[] s, int[] d, string padding, bool channelsLast)
    {
        var (layer, dims) = Case(rank, spatial, inCh, m, filters, k, s, d, padding, channelsLast);
        var x = Reference.Random(ConvReference.Count(dims), 10);
        var bias = Reference.Random(filters, 11);
        var (y, yDims) = LayerHarness.Run(layer, x, dims, afterBuild: () => layer.Bias!.Assign(bias));

        var (xc, xcDims) = channelsLast ? ConvReference.ToChannelsFirst(x, dims) : (x, dims);
        var (begin, end) = ConvTests.Pads(padding, spatial, k, s, d);
        var ones = Enumerable.Repeat(1, rank).ToArray();
        var zeros = new int[rank];
        var (z, zDims) = ConvReference.Conv(xc, xcDims, layer.DepthwiseKernel.Data, [inCh * m, 1, .. k], null, s, d, begin, end, groups: inCh);
        var (expected, eDims) = ConvReference.Conv(z, zDims, layer.PointwiseKernel.Data, [filters, inCh * m, .. ones], bias, ones, ones, zeros, zeros);
        if (channelsLast) (expected, eDims) = ConvReference.ToChannelsLast(expected, eDims);
        Assert.Equal(eDims, yDims);
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void CountsParametersLikeKeras()
    {
        var layer = new SeparableConv2D(new SeparableConvConfig { Filters = 8, DepthMultiplier = 2, KernelSize = [3] });
        _ = layer.Apply(Input.Of(6, 6, 3));
        Assert.Equal(3 * 2 * 9 + 3 * 2 * 8 + 8, layer.CountParams());
        Assert.Equal(["depthwise_kernel", "pointwise_kernel", "bias"], layer.Weights.Select(w => w.ShortName));
    }
}
