using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Reshaping;

public sealed class CroppingTests
{
    /// <summary>Spatial dims, Keras cropping argument, expected (begin, end) per axis, channels_last.</summary>
    public static TheoryData<int[], int[][], int[], bool> Cases => new()
    {
        { [6], [[1], [2]], [1, 2], true },
        { [5], [[2]], [2, 2], true },
        { [5, 4], [[1]], [1, 1, 1, 1], true },
        { [5, 4], [[0, 2], [1, 0]], [0, 2, 1, 0], false },
        { [4, 5, 4], [[1], [2], [0]], [1, 1, 2, 2, 0, 0], true },
        { [4, 4, 5], [[1, 0], [0, 1], [2, 1]], [1, 0, 0, 1, 2, 1], false },
    };

    private static Layer Make(int rank, int[][] cropping, bool channelsLast)
    {
        if (rank == 1) return new Cropping1D(new Cropping1DConfig { Cropping = cropping });
        var c = new CroppingConfig { Cropping = cropping, DataFormat = channelsLast ? "channels_last" : "channels_first" };
        return rank == 2 ? new Cropping2D(c) : new Cropping3D(c);
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
    public void CropsEachSpatialAxis(int[] spatial, int[][] cropping, int[] pairs, bool channelsLast)
    {
        var dims = Convolution.ConvTests.Dims(channelsLast, 2, 2, spatial);
        var x = Reference.Random(ConvReference.Count(dims), 34);
        var (y, yDims) = LayerHarness.Run(Make(spatial.Length, cropping, channelsLast), x, dims);
        var (xc, xcDims) = channelsLast ? ConvReference.ToChannelsFirst(x, dims) : (x, dims);
        int[] eDims = [xcDims[0], xcDims[1], .. spatial.Select((d, i) => d - pairs[2 * i] - pairs[2 * i + 1])];
        var expected = ConvReference.Indices(eDims).Select(o =>
        {
            var off = o[0] * xcDims[1] + o[1];
            for (var i = 0; i < spatial.Length; i++) off = off * spatial[i] + o[i + 2] + pairs[2 * i];
            return xc[off];
        }).ToArray();
        if (channelsLast) (expected, eDims) = ConvReference.ToChannelsLast(expected, eDims);
        Assert.Equal(eDims, yDims);
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void RejectsCroppingEverything() =>
        Assert.Throws<Graph.Core.ShapeException>(() => new Cropping1D(new Cropping1DConfig { Cropping = [[2], [2]] }).Apply(Input.Of(4, 3)));
}
