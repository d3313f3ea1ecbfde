using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using static NeuralService.Graph.Tests.Support.GradientTesting;

namespace NeuralService.Graph.Tests.Autodiff;

public sealed class PoolingGradientTests
{
    private static Value Pool(GraphBuilder g, string op, long[] x, params global::Onnx.AttributeProto[] attrs) =>
        g.Op(op, [Param(g, "x", x, 1)], attrs);

    [SkippableFact]
    public void MaxPool()
    {
        CheckAll(
            C("1d", g => Pool(g, "MaxPool", [2, 3, 8], Attr.Ints("kernel_shape", [2]), Attr.Ints("strides", [2]))),
            C("2d overlapping", g => Pool(g, "MaxPool", [2, 2, 5, 5], Attr.Ints("kernel_shape", [3, 3]), Attr.Ints("strides", [1, 2]))),
            C("2d padded dilated", g => Pool(g, "MaxPool", [1, 2, 6, 6], Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("pads", [1, 1, 1, 0]), Attr.Ints("dilations", [2, 1]))),
            C("2d ceil", g => Pool(g, "MaxPool", [1, 2, 5, 5], Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2]), Attr.Int("ceil_mode", 1))),
            C("2d with indices output", g => g.Node("MaxPool", [Param(g, "x", [1, 2, 4, 4], 5)], [Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2])], 2)[0]),
            C("3d", g => Pool(g, "MaxPool", [1, 2, 4, 4, 4], Attr.Ints("kernel_shape", [2, 2, 2]), Attr.Ints("strides", [2, 1, 2]))));
    }

    [SkippableFact]
    public void AveragePool()
    {
        CheckAll(
            C("1d", g => Pool(g, "AveragePool", [2, 3, 8], Attr.Ints("kernel_shape", [3]), Attr.Ints("strides", [2]))),
            C("2d", g => Pool(g, "AveragePool", [2, 2, 5, 5], Attr.Ints("kernel_shape", [2, 2]))),
            C("2d padded exclude pad", g => Pool(g, "AveragePool", [1, 2, 5, 5], Attr.Ints("kernel_shape", [3, 3]), Attr.Ints("strides", [2, 2]), Attr.Ints("pads", [1, 1, 1, 1]))),
            C("2d padded include pad", g => Pool(g, "AveragePool", [1, 2, 5, 5], Attr.Ints("kernel_shape", [3, 2]), Attr.Ints("strides", [2, 2]), Attr.Ints("pads", [1, 0, 1, 1]), Attr.Int("count_include_pad", 1))),
            C("2d same upper", g => Pool(g, "AveragePool", [1, 2, 5, 5], Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2]), Attr.String("auto_pad", "SAME_UPPER"))),
            C("3d", g => Pool(g, "AveragePool", [1, 1, 4, 4, 4], Attr.Ints("kernel_shape", [2, 2, 2]), Attr.Ints("strides", [2, 2, 2]))));
    }

    [SkippableFact]
    public void GlobalPools()
    {
        CheckAll(
            C("global average 2d", g => Pool(g, "GlobalAveragePool", [2, 3, 4, 5])),
            C("global average 1d", g => Pool(g, "GlobalAveragePool", [2, 3, 6])),
            C("global max 2d", g => Pool(g, "GlobalMaxPool", [2, 3, 4, 5])));
    }
}
