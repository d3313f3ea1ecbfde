using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Convolution;

public sealed class ConvTransposeTests
{
    public static TheoryData<int, int[], int, int, int[], int[], int[], string, int[]?, bool> Cases => new()
    {
        { 1, [5], 3, 2, [3], [2], [1], "valid", null, true },
        { 1, [5], 2, 3, [4], [2], [1], "same", [1], false },
        { 1, [4], 2, 2, [2], [3], [1], "same", null, true },
        { 2, [4, 3], 3, 4, [3, 3], [2, 2], [1, 1], "same", null, true },
        { 2, [3, 4], 2, 3, [3, 2], [2, 3], [1, 1], "valid", [1, 0], false },
        { 2, [4, 4], 2, 2, [3, 3], [1, 1], [2, 2], "same", null, true },
        { 2, [3, 3], 2, 2, [2, 2], [3, 3], [1, 1], "valid", null, false },
        { 3, [3, 2, 3], 2, 3, [2, 2, 2], [2, 2, 1], [1, 1, 1], "valid", null, true },
        { 3, [2, 3, 2], 3, 2, [3, 2, 3], [2, 1, 2], [1, 1, 1], "same", null, false },
    };

    private static (BaseConvTranspose Layer, int[] Dims) Case(int rank, int[] spatial, int inCh, int filters, int[] k, int[] s, int[] d, string padding, int[]? op, bool channelsLast)
    {
        var c = new ConvTransposeConfig
        {
            Filters = filters, KernelSize = k, Strides = s, DilationRate = d, Padding = padding, OutputPadding = op,
            DataFormat = channelsLast ? "channels_last" : "channels_first",
        };
        BaseConvTranspose layer = rank switch { 1 => new Conv1DTranspose(c), 2 => new Conv2DTranspose(c), _ => new Conv3DTranspose(c) };
        return (layer, ConvTests.Dims(channelsLast, 2, inCh, spatial));
    }

    [Fact]
    public void EveryCasePassesOnnxChecker() =>
        OnnxChecker.Check(Cases.Select(c =>
        {
            var (layer, dims) = Case((int)c[0], (int[])c[1], (int)c[2], (int)c[3], (int[])c[4], (int[])c[5], (int[])c[6], (string)c[7], (int[]?)c[8], (bool)c[9]);
            return LayerHarness.Export(layer, dims);
        }).ToArray());

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPlainLoops(int rank, int[] spatial, int inCh, int filters, int[] k, int[] s, int[] d, string padding, int[]? op, bool channelsLast)
    {
        var (layer, dims) = Case(rank, spatial, inCh, filters, k, s, d, padding, op, channelsLast);
        var x = Reference.Random(ConvReference.Count(dims), 5);
        var bias = Reference.Random(filters, 6);
        var (y, yDims) = LayerHarness.Run(layer, x, dims, afterBuild: () => layer.Bias!.Assign(bias));

        // Keras's output length, and TensorFlow's crop at the start: half the excess of the full output, rounded down.
        var outLen = new int[rank];
        var begin = new int[rank];
        for (var i = 0; i < rank; i++)
        {
            var kk = (k[i] - 1) * d[i] + 1;
            outLen[i] = op is null
                ? padding == "valid" ? spatial[i] * s[i] + Math.Max(kk - s[i], 0) : spatial[i] * s[i]
                : (spatial[i] - 1) * s[i] + kk - 2 * (padding == "same" ? kk / 2 : 0) + op[i];
            begin[i] = Math.Max((spatial[i] - 1) * s[i] + kk - outLen[i], 0) / 2;
        }
        var (xc, xcDims) = channelsLast ? ConvReference.ToChannelsFirst(x, dims) : (x, dims);
        var wDims = layer.Kernel.Shape.Select(v => (int)v).ToArray();
        var (expected, eDims) = ConvReference.ConvTranspose(xc, xcDims, layer.Kernel.Data, wDims, bias, s, d, begin, outLen);
        if (channelsLast) (expected, eDims) = ConvReference.ToChannelsLast(expected, eDims);
        Assert.Equal(eDims, yDims);
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void KernelIsInputFirstWithKerasFans()
    {
        var layer = new Conv2DTranspose(new ConvTransposeConfig { Filters = 6, KernelSize = [3], KernelInitializer = Graph.Keras.ObjectSpec.Of("HeUniform") });
        _ = layer.Apply(Input.Of(4, 4, 2));
        Assert.Equal([2L, 6, 3, 3], layer.Kernel.Shape);
        Assert.Equal(2 * 6 * 9 + 6, layer.CountParams());
        // Keras's kernel is [*k, filters, in], so he_uniform's fan_in is 9·filters.
        var limit = Math.Sqrt(6.0 / (9 * 6));
        Assert.InRange(layer.Kernel.Data.Max(Math.Abs), 0.9 * limit, limit);
    }

    [Fact]
    public void RejectsOutputPaddingNotBelowStride() =>
        Assert.Contains("output_padding", Assert.Throws<ArgumentException>(() =>
            new Conv2DTranspose(new ConvTransposeConfig { Filters = 2, Strides = [2], OutputPadding = [2] })).Message);
}
