using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using static NeuralService.Graph.Tests.Support.GradientTesting;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Core;

/// <summary><see cref="GraphBuilder.PooledConvolutionsAsMatMul"/>: a convolution and the max pool whose windows tile its
/// output, emitted as a gathered im2col, one Gemm and a ReduceMax in training graphs.</summary>
public sealed class PooledConvolutionTests
{
    public sealed record Geometry(string Name, long C, long H, long W, long M, long K, long Pool, long[] Strides, long[] Pads, long[] Dilations,
        bool Bias, bool Relu, string AutoPad = "NOTSET");

    public static TheoryData<Geometry> Geometries => new()
    {
        new("seed CNN's first: 28×28 → 26×26 → 13×13, ReLU", 1, 28, 28, 4, 3, 2, [1, 1], [0, 0, 0, 0], [1, 1], true, true),
        new("leftover row and column: 9×9 → 7×7 → 3×3", 2, 9, 9, 3, 3, 2, [1, 1], [0, 0, 0, 0], [1, 1], true, false),
        new("explicit pads, 3×3 windows", 1, 8, 7, 2, 3, 3, [1, 1], [1, 0, 1, 2], [1, 1], true, true),
        new("SAME_UPPER", 3, 6, 6, 2, 2, 2, [1, 1], [0, 0, 0, 0], [1, 1], true, false, "SAME_UPPER"),
        new("strided and dilated, no bias", 2, 11, 10, 3, 3, 2, [2, 1], [0, 0, 0, 0], [1, 2], false, true),
    };

    /// <summary>x [batch, C, H, W] (symbolic batch) → Conv → (ReLU) → MaxPool → loss, with the pooled output and the
    /// gradients of x, the kernel and the bias as outputs.</summary>
    private static GraphBuilder Build(Geometry c, bool lowered)
    {
        var g = new GraphBuilder { PooledConvolutionsAsMatMul = lowered, PoolBeforeRelu = lowered };
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, c.C, c.H, c.W));
        var w = Param(g, "w", [c.M, c.C, c.K, c.K], 2);
        var b = c.Bias ? Param(g, "b", [c.M], 3) : null;
        var conv = g.Node1("Conv", b is null ? [x, w] : [x, w, b], c.AutoPad == "NOTSET"
            ? [Attr.Ints("strides", c.Strides), Attr.Ints("pads", c.Pads), Attr.Ints("dilations", c.Dilations)]
            : [Attr.Ints("strides", c.Strides), Attr.String("auto_pad", c.AutoPad), Attr.Ints("dilations", c.Dilations)]);
        if (c.Relu) conv = g.Node1("Relu", [conv]);
        var y = g.Node1("MaxPool", [conv], [Attr.Ints("kernel_shape", [c.Pool, c.Pool]), Attr.Ints("strides", [c.Pool, c.Pool])]);
        OutputWithGradients(g, y, b is null ? [x, w] : [x, w, b]);
        return g;
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void ValuesAndGradientsAreThoseOfTheConvolutionAndPool(Geometry c)
    {
        var lowered = Build(c, true).ToModel();
        Assert.DoesNotContain(lowered.Graph.Node, n => n.OpType is "Conv" or "ConvTranspose" or "MaxPool");
        Assert.Contains(lowered.Graph.Node, n => n.OpType == "ReduceMax");
        OnnxChecker.Check(lowered);
        // A zero band in every image: windows of equal outputs (the bias alone), whose tied maxima share the gradient.
        var x = Reference.Random((int)(3 * c.C * c.H * c.W), 9);
        for (var i = 0; i < x.Length; i++) if (i % (c.H * c.W) < 4 * c.W) x[i] = 0;
        int[] dims = [3, (int)c.C, (int)c.H, (int)c.W];
        Ort.AssertSameOutputs(Build(c, false).ToModel(), lowered, 1e-5, ("x", x, dims));
    }

    [Fact]
    public void OverlappingPoolsAndLargeColumnsKeepTheirOps()
    {
        var g = new GraphBuilder { PooledConvolutionsAsMatMul = true };
        // 3×3 windows at stride 2 overlap.
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, 8, 10, 10));
        var conv = g.Node1("Conv", [x, Param(g, "w", [4, 8, 3, 3], 1)]);
        g.AddOutput(g.Node1("MaxPool", [conv], [Attr.Ints("kernel_shape", [3, 3]), Attr.Ints("strides", [2, 2])]));
        // RGB: 27 rows over 224×224 → 222×222 outputs, more column entries than PooledConvolution.MaxColumnEntries.
        var large = g.AddInput("large", DataType.Float, Shape.Of(Dim.Batch, 3, 224, 224));
        g.AddOutput(g.Node1("MaxPool", [g.Node1("Conv", [large, Param(g, "w2", [4, 3, 3, 3], 2), Param(g, "b", [4], 3)])],
            [Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2])]));
        var ops = g.ToModel().Graph.Node.Select(n => n.OpType).ToList();
        Assert.Equal(2, ops.Count(o => o == "Conv"));
        Assert.Equal(2, ops.Count(o => o == "MaxPool"));
        Assert.DoesNotContain("ReduceMax", ops);
    }

    /// <summary>x → Conv → ReLU → MaxPool → Conv → ReLU → MaxPool (the seed CNN's first two blocks, smaller): the
    /// second block gathers from the first's batch-innermost output, so the forward graph transposes only into the
    /// first block and out of the second.</summary>
    private static GraphBuilder TwoBlocks(bool lowered)
    {
        var g = new GraphBuilder { PooledConvolutionsAsMatMul = lowered, PoolBeforeRelu = lowered };
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, 1, 12, 12));
        var wrt = new List<Value> { x };
        Value Block(Value input, long inChannels, long outChannels, int seed)
        {
            wrt.Add(Param(g, "w" + seed, [outChannels, inChannels, 3, 3], seed));
            wrt.Add(Param(g, "b" + seed, [outChannels], seed + 1));
            var conv = g.Node1("Conv", [input, wrt[^2], wrt[^1]]);
            return g.Node1("MaxPool", [g.Node1("Relu", [conv])], [Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2])]);
        }
        OutputWithGradients(g, Block(Block(x, 1, 4, 2), 4, 3, 4), wrt);
        return g;
    }

    [Fact]
    public void ConsecutiveBlocksShareTheBatchInnermostLayout()
    {
        var lowered = TwoBlocks(true).ToModel();
        var forward = lowered.Graph.Node.Where(n => !n.Name.StartsWith("grad/", StringComparison.Ordinal)).Select(n => n.OpType).ToList();
        Assert.Equal(2, forward.Count(o => o == "ReduceMax"));
        Assert.Equal(2, forward.Count(o => o == "Transpose"));
        OnnxChecker.Check(lowered);
        var x = Reference.Random(3 * 12 * 12, 4);
        for (var i = 0; i < x.Length; i++) if (i % 144 < 48) x[i] = 0;
        Ort.AssertSameOutputs(TwoBlocks(false).ToModel(), lowered, 1e-5, ("x", x, [3, 1, 12, 12]));
    }

    [SkippableFact]
    public void TheLoweredGraphPassesFiniteDifferences()
    {
        var g = new GraphBuilder { PooledConvolutionsAsMatMul = true };
        var x = Param(g, "x", [2, 2, 7, 6], 5);
        var w = Param(g, "w", [3, 2, 2, 3], 6);
        var b = Param(g, "b", [3], 7);
        var conv = g.Node1("Conv", [x, w, b], [Attr.Ints("pads", [1, 0, 0, 1])]);
        g.AddOutput(g.Node1("MaxPool", [conv], [Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2])]));
        var model = g.ToModel();
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType is "Conv" or "MaxPool");
        var result = Run(model, null, new GradCheckOptions { Parameters = [x.Name, w.Name, b.Name] });
        Assert.True(result.Passed, result.ToString());
    }
}
