using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Reshaping;

public sealed class UpSamplingTests
{
    public static TheoryData<int[], int[], bool> Cases => new()
    {
        { [4], [3], true },
        { [3, 2], [2, 3], true },
        { [2, 3], [2, 1], false },
        { [2, 2, 3], [2, 1, 2], true },
        { [2, 3, 2], [1, 2, 2], false },
    };

    private static Layer Make(int[] size, bool channelsLast, string interpolation = "nearest")
    {
        var f = channelsLast ? "channels_last" : "channels_first";
        return size.Length switch
        {
            1 => new UpSampling1D(new UpSampling1DConfig { Size = size }),
            2 => new UpSampling2D(new UpSampling2DConfig { Size = size, DataFormat = f, Interpolation = interpolation }),
            _ => new UpSampling3D(new UpSampling3DConfig { Size = size, DataFormat = f }),
        };
    }

    /// <summary>y[…, i, …] = x[…, ⌊i/s⌋, …] on channels-first data.</summary>
    private static (float[], int[]) Nearest(float[] x, int[] dims, int[] size)
    {
        int[] yDims = [dims[0], dims[1], .. dims[2..].Select((d, i) => d * size[i])];
        var xp = new int[dims.Length];
        for (int i = dims.Length - 1, acc = 1; i >= 0; acc *= dims[i], i--) xp[i] = acc;
        var y = ConvReference.Indices(yDims).Select(o =>
        {
            var off = o[0] * xp[0] + o[1] * xp[1];
            for (var i = 2; i < o.Length; i++) off += o[i] / size[i - 2] * xp[i];
            return x[off];
        }).ToArray();
        return (y, yDims);
    }

    [Fact]
    public void EveryCasePassesOnnxChecker() =>
        OnnxChecker.Check(Cases.Select(c =>
        {
            var spatial = (int[])c[0];
            return LayerHarness.Export(Make((int[])c[1], (bool)c[2]), Convolution.ConvTests.Dims((bool)c[2], 2, 3, spatial));
        }).Append(LayerHarness.Export(Make([2, 2], true, "bilinear"), [1, 3, 3, 2])).ToArray());

    [Theory]
    [MemberData(nameof(Cases))]
    public void NearestRepeatsElements(int[] spatial, int[] size, bool channelsLast)
    {
        var dims = Convolution.ConvTests.Dims(channelsLast, 2, 3, spatial);
        var x = Reference.Random(ConvReference.Count(dims), 30);
        var (y, yDims) = LayerHarness.Run(Make(size, channelsLast), x, dims);
        var (xc, xcDims) = channelsLast ? ConvReference.ToChannelsFirst(x, dims) : (x, dims);
        var (expected, eDims) = Nearest(xc, xcDims, size);
        if (channelsLast) (expected, eDims) = ConvReference.ToChannelsLast(expected, eDims);
        Assert.Equal(eDims, yDims);
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void NearestWithUnknownSpatialDimsFallsBackToResize()
    {
        var input = Input.Of([null, null, 2]);
        var model = new Graph.Models.Functional(input, Make([2, 3], true).Apply(input));
        var onnx = model.ToOnnx();
        Assert.Contains(onnx.Graph.Node, n => n.OpType == "Resize");
        int[] dims = [1, 2, 3, 2];
        var x = Reference.Random(12, 31);
        var (y, yDims) = Ort.Run1(onnx, x, dims);
        var (xc, xcDims) = ConvReference.ToChannelsFirst(x, dims);
        var (e, eDims) = Nearest(xc, xcDims, [2, 3]);
        var (expected, _) = ConvReference.ToChannelsLast(e, eDims);
        Assert.Equal([1, 4, 9, 2], yDims);
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void BilinearMatchesTensorFlowHalfPixelResize()
    {
        int[] dims = [1, 3, 4, 2];
        var x = Reference.Random(24, 32);
        var (y, yDims) = LayerHarness.Run(Make([2, 3], true, "bilinear"), x, dims);
        Assert.Equal([1, 6, 12, 2], yDims);
        // TensorFlow: source = (o + ½)/scale − ½, neighbours clamped to the input, weight = source − ⌊source⌋.
        static (int Lo, int Hi, double W) Source(int o, int scale, int n)
        {
            var s = (o + 0.5) / scale - 0.5;
            var f = Math.Floor(s);
            return ((int)Math.Max(f, 0), (int)Math.Min(Math.Ceiling(s), n - 1), s - f);
        }
        var expected = new float[y.Length];
        var k = 0;
        for (var i = 0; i < 6; i++)
            for (var j = 0; j < 12; j++)
                for (var c = 0; c < 2; c++)
                {
                    var (r0, r1, wr) = Source(i, 2, 3);
                    var (c0, c1, wc) = Source(j, 3, 4);
                    float X(int r, int col) => x[(r * 4 + col) * 2 + c];
                    var top = X(r0, c0) * (1 - wc) + X(r0, c1) * wc;
                    var bottom = X(r1, c0) * (1 - wc) + X(r1, c1) * wc;
                    expected[k++] = (float)(top * (1 - wr) + bottom * wr);
                }
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void RejectsBilinearOutside2D() =>
        Assert.Contains("bilinear", Assert.Throws<ArgumentException>(() =>
            new UpSampling2D(new UpSampling2DConfig { Interpolation = "bicubic" })).Message);
}
