using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Convolution;

public sealed class ConvTests
{
    /// <summary>Spatial pads for Keras's padding modes, from TensorFlow's rules.</summary>
    internal static (int[] Begin, int[] End) Pads(string padding, int[] spatial, int[] k, int[] s, int[] d)
    {
        var r = spatial.Length;
        var begin = new int[r];
        var end = new int[r];
        for (var i = 0; i < r; i++)
        {
            if (padding == "same") (begin[i], end[i]) = ConvReference.SamePads(spatial[i], k[i], s[i], d[i]);
            if (padding == "causal") begin[i] = (k[i] - 1) * d[i];
        }
        return (begin, end);
    }

    internal static int[] Dims(bool channelsLast, int batch, int channels, int[] spatial) =>
        channelsLast ? [batch, .. spatial, channels] : [batch, channels, .. spatial];

    private static BaseConv Make(int rank, ConvConfig c) => rank switch
    {
        1 => new Conv1D(c),
        2 => new Conv2D(c),
        _ => new Conv3D(c),
    };

    public static TheoryData<int, int[], int, int, int[], int[], int[], string, int, bool> Cases => new()
    {
        { 1, [9], 3, 4, [3], [1], [1], "valid", 1, true },
        { 1, [10], 4, 6, [3], [2], [1], "same", 2, true },
        { 1, [8], 2, 3, [3], [1], [2], "causal", 1, true },
        { 1, [8], 2, 3, [2], [1], [3], "causal", 1, false },
        { 2, [6, 7], 3, 4, [3, 2], [1, 1], [1, 1], "valid", 1, true },
        { 2, [7, 6], 4, 6, [3, 3], [2, 2], [1, 1], "same", 2, true },
        { 2, [7, 7], 2, 3, [3, 3], [1, 1], [2, 2], "same", 1, false },
        { 2, [8, 6], 4, 4, [2, 3], [2, 1], [1, 1], "valid", 4, false },
        { 3, [4, 5, 4], 2, 3, [2, 3, 2], [1, 2, 1], [1, 1, 1], "same", 1, true },
        { 3, [5, 5, 5], 4, 2, [2, 2, 2], [1, 1, 1], [2, 1, 2], "valid", 2, false },
    };

    private static (BaseConv Layer, int[] Dims) Case(int rank, int[] spatial, int inCh, int filters, int[] k, int[] s, int[] d, string padding, int groups, bool channelsLast) =>
        (Make(rank, new ConvConfig
        {
            Filters = filters, KernelSize = k, Strides = s, DilationRate = d, Padding = padding, Groups = groups,
            DataFormat = channelsLast ? "channels_last" : "channels_first",
        }), Dims(channelsLast, 2, inCh, spatial));

    [Fact]
    public void EveryCasePassesOnnxChecker() =>
        OnnxChecker.Check(Cases.Select(c =>
        {
            var a = c.ToArray();
            var (layer, dims) = Case((int)a[0], (int[])a[1], (int)a[2], (int)a[3], (int[])a[4], (int[])a[5], (int[])a[6], (string)a[7], (int)a[8], (bool)a[9]);
            return LayerHarness.Export(layer, dims);
        }).ToArray());

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPlainLoops(int rank, int[] spatial, int inCh, int filters, int[] k, int[] s, int[] d, string padding, int groups, bool channelsLast)
    {
        var (layer, dims) = Case(rank, spatial, inCh, filters, k, s, d, padding, groups, channelsLast);
        var x = Reference.Random(ConvReference.Count(dims), 3);
        var bias = Reference.Random(filters, 4);
        var (y, yDims) = LayerHarness.Run(layer, x, dims, afterBuild: () => layer.Bias!.Assign(bias));

        var (xc, xcDims) = channelsLast ? ConvReference.ToChannelsFirst(x, dims) : (x, dims);
        var (begin, end) = Pads(padding, spatial, k, s, d);
        var wDims = layer.Kernel.Shape.Select(v => (int)v).ToArray();
        var (expected, eDims) = ConvReference.Conv(xc, xcDims, layer.Kernel.Data, wDims, bias, s, d, begin, end, groups);
        if (channelsLast) (expected, eDims) = ConvReference.ToChannelsLast(expected, eDims);
        Assert.Equal(eDims, yDims);
        Reference.AssertClose(expected, y);
    }

    [Theory]
    [InlineData(1, "same")]
    [InlineData(2, "same")]
    [InlineData(2, "causal")]
    public void VariableLengthInputMatchesPlainLoops(int stride, string padding)
    {
        // Unknown steps: 'same' with stride 1 keeps explicit pads, with stride 2 it needs ONNX's SAME_UPPER.
        var layer = new Conv1D(4, 3, strides: stride, padding: padding, dilationRate: padding == "causal" ? 2 : 1);
        var input = Input.Of([null, 3]);
        var onnx = new Functional(input, layer.Apply(input)).ToOnnx();
        OnnxChecker.Check(onnx);
        int[] dims = [2, 7, 3];
        var x = Reference.Random(42, 14);
        var (y, yDims) = Ort.Run1(onnx, x, dims);
        var d = padding == "causal" ? 2 : 1;
        var (begin, end) = Pads(padding, [7], [3], [stride], [d]);
        var (xc, xcDims) = ConvReference.ToChannelsFirst(x, dims);
        var (e, eDims) = ConvReference.Conv(xc, xcDims, layer.Kernel.Data, [4, 3, 3], layer.Bias!.Data, [stride], [d], begin, end);
        var (expected, expectedDims) = ConvReference.ToChannelsLast(e, eDims);
        Assert.Equal(expectedDims, yDims);
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void ActivationAndNoBiasApply()
    {
        var layer = new Conv2D(3, [2, 2], activation: "relu", useBias: false);
        int[] dims = [1, 4, 4, 2];
        var x = Reference.Random(32, 7);
        var (y, _) = LayerHarness.Run(layer, x, dims);
        Assert.Single(layer.Weights);
        var (xc, xcDims) = ConvReference.ToChannelsFirst(x, dims);
        var (e, eDims) = ConvReference.Conv(xc, xcDims, layer.Kernel.Data, [3, 2, 2, 2], null, [1, 1], [1, 1], [0, 0], [0, 0]);
        var (expected, _) = ConvReference.ToChannelsLast(e.Select(v => Math.Max(0, v)).ToArray(), eDims);
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void ParameterCountsMatchKeras()
    {
        var input = Input.Of(28, 28, 1);
        var c1 = new Conv2D(32, [3, 3], activation: "relu");
        var h = c1.Apply(input);
        Assert.Equal(320, c1.CountParams());
        h = new MaxPooling2D().Apply(h);
        h = new Conv2D(64, [3, 3], activation: "relu").Apply(h);
        h = new MaxPooling2D().Apply(h);
        var out_ = new Conv2D(64, [3, 3], activation: "relu").Apply(h);
        var model = new Functional(input, out_);
        Assert.Equal(320 + 18_496 + 36_928, model.CountParams());
        Assert.EndsWith("Total params: 55744", model.Summary());
        Assert.Equal("[?, 3, 3, 64]".Replace("?", out_.Shape[0].ToString()), out_.Shape.ToString());
        // With Flatten (576) → Dense(64) → Dense(10) on top this is Keras's 93,322.
        Assert.Equal(93_322, model.CountParams() + 576 * 64 + 64 + 64 * 10 + 10);
    }

    [Fact]
    public void GlorotUniformUsesKerasFans()
    {
        var layer = new Conv2D(16, [3, 3]);
        _ = layer.Apply(Input.Of(5, 5, 8));
        var limit = Math.Sqrt(6.0 / (9 * 8 + 9 * 16));
        var max = layer.Kernel.Data.Max(Math.Abs);
        Assert.InRange(max, 0.95 * limit, limit);
        Assert.Equal([16L, 8, 3, 3], layer.Kernel.Shape);
    }

    [Fact]
    public void RejectsBadArguments()
    {
        Assert.Contains("'full'", Assert.Throws<ArgumentException>(() => new Conv2D(4, [3, 3], padding: "full")).Message);
        Assert.Contains("causal", Assert.Throws<ArgumentException>(() => new Conv2D(4, [3, 3], padding: "causal")).Message);
        Assert.Contains("groups", Assert.Throws<ArgumentException>(() => new Conv2D(5, [3, 3], groups: 2)).Message);
        Assert.Contains("[3, 3, 3]", Assert.Throws<ArgumentException>(() => new Conv2D(4, [3, 3, 3])).Message);
    }
}
