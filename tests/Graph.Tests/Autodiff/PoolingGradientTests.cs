using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using static NeuralService.Graph.Tests.Support.GradientTesting;
using DataType = Onnx.TensorProto.Types.DataType;

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
            C("3d", g => Pool(g, "MaxPool", [1, 2, 4, 4, 4], Attr.Ints("kernel_shape", [2, 2, 2]), Attr.Ints("strides", [2, 1, 2]))),
            // Square 2-D windows that tile the input take the mask rule: with leftover rows/columns, SAME that pads nothing;
            // unequal tiling windows keep the indices rule.
            C("2d tiling with leftover", g => Pool(g, "MaxPool", [2, 3, 7, 8], Attr.Ints("kernel_shape", [3, 3]), Attr.Ints("strides", [3, 3]))),
            C("2d tiling with leftover, large plane", g => Pool(g, "MaxPool", [1, 2, 19, 17], Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2]))),
            C("2d tiling unequal", g => Pool(g, "MaxPool", [1, 2, 4, 6], Attr.Ints("kernel_shape", [2, 3]), Attr.Ints("strides", [2, 3]))),
            C("2d tiling same", g => Pool(g, "MaxPool", [1, 2, 4, 6], Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2]), Attr.String("auto_pad", "SAME_UPPER"))));
    }

    [Fact]
    public void TilingMaxPoolNeedsNoIndicesOrScatter()
    {
        var g = new GraphBuilder();
        var x = Param(g, "x", [2, 3, 5, 4], 1);
        var y = g.Op("MaxPool", [x], Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2]));
        var loss = g.Node1("ReduceSum", [g.Mul(y, y)], [Attr.Int("keepdims", 0)]);
        Gradients.Build(g, loss, [x]);
        Assert.DoesNotContain(g.Nodes, n => n.OpType == "ScatterElements");
        Assert.Single(g.Nodes.Single(n => n.OpType == "MaxPool").Output);
    }

    /// <summary>Small pooled planes whose windows leave rows or columns out come back to the input's size through one
    /// MatMul (no crop of X, no Pad of dX); larger planes crop and pad.</summary>
    [Theory]
    [InlineData(11, 11, true)]
    [InlineData(19, 17, false)]
    public void LeftoverRowsUpsampleByMatMulOnSmallPlanes(long h, long w, bool byMatMul)
    {
        var g = new GraphBuilder();
        var x = Param(g, "x", [2, 3, h, w], 1);
        var y = g.Op("MaxPool", [x], Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2]));
        var loss = g.Node1("ReduceSum", [g.Mul(y, y)], [Attr.Int("keepdims", 0)]);
        Gradients.Build(g, loss, [x]);
        Assert.Equal(byMatMul, g.Nodes.Any(n => n.OpType == "MatMul"));
        Assert.Equal(!byMatMul, g.Nodes.Any(n => n.OpType == "Pad"));
        Assert.Equal(!byMatMul, g.Nodes.Any(n => n.OpType == "Resize"));
    }

    /// <summary>A leftover row that equals its column's window maximum gets no gradient: no window reads it.</summary>
    [Fact]
    public void LeftoverRowsGetNoGradientEvenWhenTheyEqualTheMaximum()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(1, 1, 3, 4));
        var y = g.Op("MaxPool", [x], Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2]));
        var loss = g.Node1("ReduceSum", [g.Mul(y, g.Constant([3f, 5f], [1, 1, 1, 2]))], [Attr.Int("keepdims", 0)]);
        g.AddOutput(Gradients.Build(g, loss, [x])["x"], "dx");
        var (dx, _) = Ort.Run1(g.ToModel(), [1f, 2f, 7f, 7f, 2f, 0f, 7f, 7f, 2f, 2f, 7f, 7f], [1, 1, 3, 4]);
        Assert.Equal([0f, 1.5f, 1.25f, 1.25f, 1.5f, 0f, 1.25f, 1.25f, 0f, 0f, 0f, 0f], dx);
    }

    /// <summary>Tied maxima share the window's gradient: each of k tied inputs gets dY/k, so the window's input
    /// gradients still sum to dY.</summary>
    [Fact]
    public void TiedMaximaShareTheGradient()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(1, 1, 2, 4));
        var y = g.Op("MaxPool", [x], Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2]));
        var loss = g.Node1("ReduceSum", [g.Mul(y, g.Constant([3f, 5f], [1, 1, 1, 2]))], [Attr.Int("keepdims", 0)]);
        g.AddOutput(Gradients.Build(g, loss, [x])["x"], "dx");
        // Window 1 [[1, 2], [2, 0]] ties at 2; window 2 [[7, 7], [7, 7]] ties four times.
        var (dx, _) = Ort.Run1(g.ToModel(), [1f, 2f, 7f, 7f, 2f, 0f, 7f, 7f], [1, 1, 2, 4]);
        Assert.Equal([0f, 1.5f, 1.25f, 1.25f, 1.5f, 0f, 1.25f, 1.25f], dx);
    }

    [Fact]
    public void TiedGlobalMaximaShareTheGradient()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(1, 2, 2, 2));
        var y = g.Op("GlobalMaxPool", [x]);
        var loss = g.Node1("ReduceSum", [g.Mul(y, g.Constant([3f, 5f], [1, 2, 1, 1]))], [Attr.Int("keepdims", 0)]);
        g.AddOutput(Gradients.Build(g, loss, [x])["x"], "dx");
        // Channel 1 [[1, 2], [2, 0]] ties at 2; channel 2 [[7, 7], [7, 7]] ties four times.
        var (dx, _) = Ort.Run1(g.ToModel(), [1f, 2f, 2f, 0f, 7f, 7f, 7f, 7f], [1, 2, 2, 2]);
        Assert.Equal([0f, 1.5f, 1.5f, 0f, 1.25f, 1.25f, 1.25f, 1.25f], dx);
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
