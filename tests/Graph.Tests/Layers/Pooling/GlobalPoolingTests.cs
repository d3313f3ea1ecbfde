using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Pooling;

public sealed class GlobalPoolingTests
{
    public static TheoryData<bool, int[], bool, bool> Cases => new()
    {
        { false, [5], true, false },
        { true, [5], false, true },
        { false, [3, 4], false, false },
        { true, [4, 3], true, true },
        { false, [2, 3, 2], true, true },
        { true, [3, 2, 2], false, false },
    };

    private static (BaseGlobalPooling Layer, int[] Dims) Case(bool max, int[] spatial, bool channelsLast, bool keepdims)
    {
        var c = new GlobalPoolingConfig { DataFormat = channelsLast ? "channels_last" : "channels_first", Keepdims = keepdims };
        BaseGlobalPooling layer = (max, spatial.Length) switch
        {
            (true, 1) => new GlobalMaxPooling1D(c),
            (true, 2) => new GlobalMaxPooling2D(c),
            (true, _) => new GlobalMaxPooling3D(c),
            (false, 1) => new GlobalAveragePooling1D(c),
            (false, 2) => new GlobalAveragePooling2D(c),
            (false, _) => new GlobalAveragePooling3D(c),
        };
        return (layer, Convolution.ConvTests.Dims(channelsLast, 2, 3, spatial));
    }

    [Fact]
    public void EveryCasePassesOnnxChecker() =>
        OnnxChecker.Check(Cases.Select(c =>
        {
            var (layer, dims) = Case((bool)c[0], (int[])c[1], (bool)c[2], (bool)c[3]);
            return LayerHarness.Export(layer, dims);
        }).ToArray());

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPlainLoops(bool max, int[] spatial, bool channelsLast, bool keepdims)
    {
        var (layer, dims) = Case(max, spatial, channelsLast, keepdims);
        var x = Reference.Random(ConvReference.Count(dims), 13);
        var (y, yDims) = LayerHarness.Run(layer, x, dims);

        var (xc, _) = channelsLast ? ConvReference.ToChannelsFirst(x, dims) : (x, dims);
        var per = ConvReference.Count(spatial);
        var expected = new float[2 * 3];
        for (var i = 0; i < expected.Length; i++)
        {
            var window = xc.Skip(i * per).Take(per);
            expected[i] = max ? window.Max() : (float)window.Average(v => (double)v);
        }
        var ones = Enumerable.Repeat(1, spatial.Length);
        int[] eDims = !keepdims ? [2, 3] : channelsLast ? [2, .. ones, 3] : [2, 3, .. ones];
        Assert.Equal(eDims, yDims);
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void MaskedAverageCountsOnlyUnmaskedSteps()
    {
        var g = new Graph.Core.GraphBuilder();
        var x = g.AddInput("x", global::Onnx.TensorProto.Types.DataType.Float, Graph.Core.Shape.Of(2, 4, 3));
        var m = g.AddInput("m", global::Onnx.TensorProto.Types.DataType.Float, Graph.Core.Shape.Of(2, 4));
        var ctx = new CallContext();
        ctx.SetMask(x, g.Node1("Cast", [m], [Graph.Onnx.Attr.Int("to", (long)global::Onnx.TensorProto.Types.DataType.Bool)]));
        var layer = new GlobalAveragePooling1D(new GlobalPoolingConfig());
        g.AddOutput(layer.Emit(g, [x], ctx)[0], "y");
        var model = g.ToModel();
        OnnxChecker.Check(model);
        var xs = Reference.Random(24, 40);
        float[] mask = [1, 1, 0, 0, 1, 1, 1, 0];
        var y = Ort.Run(model, ("x", xs, [2, 4, 3]), ("m", mask, [2, 4]))["y"];
        Assert.Equal([2, 3], y.Dims);
        var expected = new float[6];
        for (var b = 0; b < 2; b++)
            for (var c = 0; c < 3; c++)
            {
                double sum = 0, n = 0;
                for (var t = 0; t < 4; t++)
                    if (mask[b * 4 + t] != 0) { sum += xs[(b * 4 + t) * 3 + c]; n++; }
                expected[b * 3 + c] = (float)(sum / n);
            }
        Reference.AssertClose(expected, y.Data);
    }
}
