using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using static NeuralService.Graph.Tests.Support.GradientTesting;

namespace NeuralService.Graph.Tests.Autodiff;

public sealed class ConvolutionGradientTests
{
    private static Value Conv(GraphBuilder g, string op, long[] x, long[] w, bool bias, params global::Onnx.AttributeProto[] attrs)
    {
        var outChannels = op == "Conv" ? w[0] : w[1] * (attrs.FirstOrDefault(a => a.Name == "group")?.I ?? 1);
        return g.Op(op, [Param(g, "x", x, 1), Param(g, "w", w, 2), bias ? Param(g, "b", [outChannels], 3) : null], attrs);
    }

    [SkippableFact]
    public void Conv1D2D3D()
    {
        CheckAll(
            C("1d", g => Conv(g, "Conv", [2, 3, 7], [4, 3, 3], true)),
            C("1d stride pad dilation", g => Conv(g, "Conv", [2, 2, 9], [3, 2, 2], true, Attr.Ints("strides", [2]), Attr.Ints("pads", [1, 2]), Attr.Ints("dilations", [2]))),
            C("2d", g => Conv(g, "Conv", [2, 3, 5, 5], [4, 3, 3, 3], true)),
            C("2d one input channel", g => Conv(g, "Conv", [2, 1, 5, 6], [3, 1, 3, 2], true, Attr.Ints("strides", [2, 1]), Attr.Ints("pads", [1, 0, 1, 1]))),
            C("2d stride 2 leftover", g => Conv(g, "Conv", [1, 2, 6, 7], [3, 2, 3, 2], true, Attr.Ints("strides", [2, 3]), Attr.Ints("pads", [1, 0, 0, 1]))),
            C("2d dilated", g => Conv(g, "Conv", [1, 2, 7, 7], [2, 2, 3, 3], false, Attr.Ints("dilations", [2, 1]), Attr.Ints("pads", [2, 1, 2, 1]))),
            C("2d groups", g => Conv(g, "Conv", [2, 4, 5, 5], [6, 2, 3, 3], true, Attr.Int("group", 2), Attr.Ints("strides", [2, 1]))),
            C("2d depthwise", g => Conv(g, "Conv", [1, 3, 5, 4], [3, 1, 2, 2], true, Attr.Int("group", 3))),
            C("2d same upper", g => Conv(g, "Conv", [1, 2, 5, 6], [2, 2, 3, 3], true, Attr.String("auto_pad", "SAME_UPPER"), Attr.Ints("strides", [2, 2]))),
            C("3d", g => Conv(g, "Conv", [1, 2, 4, 4, 3], [2, 2, 2, 2, 2], true, Attr.Ints("strides", [1, 2, 1]), Attr.Ints("pads", [1, 0, 0, 0, 1, 1]))),
            // Past MaxPerSampleWeight (1024) the weight gradient is one Gemm over the whole batch.
            C("2d larger kernel, one Gemm", g => Conv(g, "Conv", [2, 15, 4, 4], [8, 15, 3, 3], true, Attr.Ints("pads", [1, 1, 1, 1]))));
    }

    /// <summary>A small kernel over few channels takes dW and dB from one batched MatMul against [cols; 1]: no Gemm, no
    /// transpose of dY, and the only reduction is the sum over the batch.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SmallKernelsTakeWeightAndBiasGradientsPerSample(bool bias)
    {
        var g = new GraphBuilder();
        var w = Param(g, "w", [4, 1, 3, 3], 2);
        var b = bias ? Param(g, "b", [4], 3) : null;
        var y = g.Op("Conv", [Param(g, "x", [2, 1, 6, 6], 1), w, b]);
        var loss = g.Node1("ReduceSum", [g.Mul(y, y)], [Attr.Int("keepdims", 0)]);
        var grads = NeuralService.Graph.Autodiff.Gradients.Build(g, loss, bias ? [w, b!] : [w]);
        Assert.DoesNotContain(g.Nodes, n => n.OpType == "Gemm");
        var matMul = Assert.Single(g.Nodes, n => n.OpType == "MatMul");
        // The one Transpose is the columns' [N, P, C·K] view, which ONNX Runtime folds into the MatMul (transB).
        Assert.Equal(matMul.Input[1], Assert.Single(g.Nodes, n => n.OpType == "Transpose").Output[0]);
        Assert.Single(g.Nodes, n => n.OpType == "ReduceSum" && n.Name.StartsWith("grad/", StringComparison.Ordinal));
        Assert.Equal(bias ? 1 : 0, g.Nodes.Count(n => n.OpType == "ConstantOfShape" && n.Name.StartsWith("grad/Conv/", StringComparison.Ordinal)));
        Assert.Equal(bias ? 2 : 1, grads.Count);
    }

    [SkippableFact]
    public void ConvWeightGradientAsConv()
    {
        CheckAll(new NeuralService.Graph.Autodiff.GradientOptions { ConvWeightGradient = NeuralService.Graph.Autodiff.ConvWeightGradient.Conv },
            C("1d stride pad dilation", g => Conv(g, "Conv", [2, 2, 9], [3, 2, 2], true, Attr.Ints("strides", [2]), Attr.Ints("pads", [1, 2]), Attr.Ints("dilations", [2]))),
            C("2d", g => Conv(g, "Conv", [2, 3, 5, 5], [4, 3, 3, 3], true)),
            C("2d stride 2 leftover", g => Conv(g, "Conv", [2, 2, 6, 7], [3, 2, 3, 2], true, Attr.Ints("strides", [2, 3]), Attr.Ints("pads", [1, 0, 0, 1]))),
            C("2d dilated", g => Conv(g, "Conv", [1, 2, 7, 7], [2, 2, 3, 3], false, Attr.Ints("dilations", [2, 1]), Attr.Ints("pads", [2, 1, 2, 1]))),
            C("2d groups falls back", g => Conv(g, "Conv", [2, 4, 5, 5], [6, 2, 3, 3], true, Attr.Int("group", 2))),
            C("3d", g => Conv(g, "Conv", [2, 2, 4, 4, 3], [2, 2, 2, 2, 2], true, Attr.Ints("strides", [1, 2, 1]), Attr.Ints("pads", [1, 0, 0, 0, 1, 1]))));
    }

    /// <summary>Every static geometry with the columns gathered (the default takes Gather from 16 input channels).</summary>
    [SkippableFact]
    public void ConvWeightGradientColumnsByGather()
    {
        CheckAll(new NeuralService.Graph.Autodiff.GradientOptions { GatherColumnsFromChannels = 1 },
            C("1d stride pad dilation", g => Conv(g, "Conv", [2, 2, 9], [3, 2, 2], true, Attr.Ints("strides", [2]), Attr.Ints("pads", [1, 2]), Attr.Ints("dilations", [2]))),
            C("2d one channel", g => Conv(g, "Conv", [2, 1, 5, 5], [4, 1, 3, 3], true)),
            C("2d stride 2 leftover", g => Conv(g, "Conv", [2, 2, 6, 7], [3, 2, 3, 2], true, Attr.Ints("strides", [2, 3]), Attr.Ints("pads", [1, 0, 0, 1]))),
            C("2d dilated", g => Conv(g, "Conv", [1, 2, 7, 7], [2, 2, 3, 3], false, Attr.Ints("dilations", [2, 1]), Attr.Ints("pads", [2, 1, 2, 1]))),
            C("2d same upper", g => Conv(g, "Conv", [1, 2, 5, 6], [2, 2, 3, 3], true, Attr.String("auto_pad", "SAME_UPPER"), Attr.Ints("strides", [2, 2]))),
            C("2d groups keep slices", g => Conv(g, "Conv", [2, 4, 5, 5], [6, 2, 3, 3], true, Attr.Int("group", 2))),
            C("3d", g => Conv(g, "Conv", [2, 2, 4, 4, 3], [2, 2, 2, 2, 2], true, Attr.Ints("strides", [1, 2, 1]), Attr.Ints("pads", [1, 0, 0, 0, 1, 1]))),
            C("transpose 2d strided padded", g => Conv(g, "ConvTranspose", [1, 2, 3, 4], [2, 3, 3, 2], true, Attr.Ints("strides", [2, 3]), Attr.Ints("pads", [1, 0, 1, 1]))),
            C("transpose 2d output padding dilation", g => Conv(g, "ConvTranspose", [1, 2, 3, 3], [2, 2, 2, 2], false, Attr.Ints("strides", [2, 2]), Attr.Ints("output_padding", [1, 0]), Attr.Ints("dilations", [2, 1]))));
    }

    /// <summary>Weights large against the output positions (2·C·K ≥ 32·P) gather their columns with the batch innermost.</summary>
    [SkippableFact]
    public void ConvWeightGradientColumnsWithTheBatchInnermost()
    {
        CheckAll(new NeuralService.Graph.Autodiff.GradientOptions { GatherColumnsFromChannels = 1 },
            C("1d stride", g => Conv(g, "Conv", [2, 24, 5], [3, 24, 3], true, Attr.Ints("strides", [2]))),
            C("2d padded", g => Conv(g, "Conv", [2, 32, 3, 3], [4, 32, 3, 3], true, Attr.Ints("pads", [1, 1, 1, 1]))),
            C("2d stride 2 leftover", g => Conv(g, "Conv", [2, 16, 5, 6], [3, 16, 3, 3], true, Attr.Ints("strides", [2, 2]), Attr.Ints("pads", [1, 0, 0, 1]))),
            C("2d dilated", g => Conv(g, "Conv", [1, 16, 4, 4], [2, 16, 2, 2], false, Attr.Ints("dilations", [2, 2]))),
            C("3d", g => Conv(g, "Conv", [1, 8, 3, 3, 2], [2, 8, 2, 2, 2], true)));
    }

    /// <summary>A deep layer's kernel gradient comes out of the Gemm in the weight's layout: the only transposes are of
    /// the input and the output gradient (activation-sized), none of the 512×512×3×3 product.</summary>
    [Fact]
    public void DeepLayerWeightGradientNeedsNoWeightSizedTranspose()
    {
        var g = new GraphBuilder();
        var w = Param(g, "w", [512, 512, 3, 3], 2);
        var y = g.Op("Conv", [g.AddInput("x", global::Onnx.TensorProto.Types.DataType.Float, Shape.Of(Dim.Unknown, 512, 7, 7)), w], Attr.Ints("pads", [1, 1, 1, 1]));
        var loss = g.Node1("ReduceSum", [y], [Attr.Int("keepdims", 0)]);
        var dw = NeuralService.Graph.Autodiff.Gradients.Build(g, loss, [w])[w.Name];
        var gemm = Assert.Single(g.Nodes, n => n.OpType == "Gemm");
        var producer = g.Nodes.Single(n => n.Output.Contains(dw.Name));
        Assert.True(producer == gemm || (producer.OpType == "Reshape" && producer.Input[0] == gemm.Output[0]), producer.OpType);
        Assert.Equal(2, g.Nodes.Count(n => n.OpType == "Transpose"));
    }

    [Theory]
    [InlineData(15, false)]
    [InlineData(16, true)]
    public void WeightGradientGathersColumnsFromSixteenChannels(long channels, bool gathers)
    {
        var g = new GraphBuilder();
        var w = Param(g, "w", [4, channels, 3, 3], 2);
        var y = g.Op("Conv", [Param(g, "x", [2, channels, 6, 6], 1), w]);
        var loss = g.Node1("ReduceSum", [g.Mul(y, y)], [Attr.Int("keepdims", 0)]);
        NeuralService.Graph.Autodiff.Gradients.Build(g, loss, [w]);
        Assert.Equal(gathers, g.Nodes.Any(n => n.OpType == "Gather"));
        Assert.Equal(gathers ? 0 : 9, g.Nodes.Count(n => n.OpType == "Slice"));
    }

    /// <summary>The position table is a constant of the training graph: past 2M entries (8 MiB) the columns stay Slices.</summary>
    [Fact]
    public void WeightGradientKeepsSlicesWhereThePositionTableWouldBeLarge()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", global::Onnx.TensorProto.Types.DataType.Float, Shape.Of(1, 16, 700, 700));
        var w = Param(g, "w", [4, 16, 3, 3], 2);
        var y = g.Op("Conv", [x, w]);
        var loss = g.Node1("ReduceSum", [y], [Attr.Int("keepdims", 0)]);
        NeuralService.Graph.Autodiff.Gradients.Build(g, loss, [w]);
        Assert.DoesNotContain(g.Nodes, n => n.OpType == "Gather");
        Assert.Equal(9, g.Nodes.Count(n => n.OpType == "Slice"));
    }

    [SkippableFact]
    public void ConvTranspose()
    {
        CheckAll(
            C("1d", g => Conv(g, "ConvTranspose", [2, 3, 5], [3, 2, 3], true)),
            C("2d", g => Conv(g, "ConvTranspose", [2, 3, 4, 4], [3, 2, 3, 3], true)),
            C("2d strided padded", g => Conv(g, "ConvTranspose", [1, 2, 3, 4], [2, 3, 3, 2], true, Attr.Ints("strides", [2, 3]), Attr.Ints("pads", [1, 0, 1, 1]))),
            C("2d output padding dilation", g => Conv(g, "ConvTranspose", [1, 2, 3, 3], [2, 2, 2, 2], false, Attr.Ints("strides", [2, 2]), Attr.Ints("output_padding", [1, 0]), Attr.Ints("dilations", [2, 1]))),
            C("2d groups", g => Conv(g, "ConvTranspose", [1, 4, 3, 3], [4, 1, 2, 2], true, Attr.Int("group", 2))),
            C("3d", g => Conv(g, "ConvTranspose", [1, 2, 2, 3, 2], [2, 2, 2, 2, 2], true, Attr.Ints("strides", [2, 1, 2]))));
    }
}
