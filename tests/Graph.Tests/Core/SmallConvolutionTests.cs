using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using static NeuralService.Graph.Tests.Support.GradientTesting;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Core;

/// <summary><see cref="GraphBuilder.SmallConvolutionsAsMatMul"/>: a convolution with few output positions emitted as
/// MatMuls with a constant selection matrix, in training graphs.</summary>
public sealed class SmallConvolutionTests
{
    public sealed record Geometry(string Name, long C, long H, long W, long M, long K, long[] Strides, long[] Pads, long[] Dilations, bool Bias);

    public static TheoryData<Geometry> Geometries => new()
    {
        new("seed CNN's third: 5×5 → 3×3", 4, 5, 5, 3, 3, [1, 1], [0, 0, 0, 0], [1, 1], true),
        new("strided and padded", 3, 6, 5, 2, 3, [2, 2], [1, 0, 1, 1], [1, 1], true),
        new("dilated, no bias", 2, 6, 6, 3, 2, [1, 1], [0, 0, 0, 0], [2, 2], false),
        new("1×1 kernel, 16 positions", 3, 4, 4, 2, 1, [1, 1], [0, 0, 0, 0], [1, 1], true),
    };

    /// <summary>x [batch, C, H, W] (symbolic batch) → Conv → loss with the gradients of x, the kernel and the bias.</summary>
    private static GraphBuilder Build(Geometry c, bool lowered)
    {
        var g = new GraphBuilder { SmallConvolutionsAsMatMul = lowered };
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, c.C, c.H, c.W));
        var w = Param(g, "w", [c.M, c.C, c.K, c.K], 2);
        var b = c.Bias ? Param(g, "b", [c.M], 3) : null;
        var y = g.Node1("Conv", b is null ? [x, w] : [x, w, b],
            [Attr.Ints("strides", c.Strides), Attr.Ints("pads", c.Pads), Attr.Ints("dilations", c.Dilations)]);
        OutputWithGradients(g, y, b is null ? [x, w] : [x, w, b]);
        return g;
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void ValuesAndGradientsAreTheConvolutions(Geometry c)
    {
        var lowered = Build(c, true).ToModel();
        Assert.DoesNotContain(lowered.Graph.Node, n => n.OpType is "Conv" or "ConvTranspose");
        OnnxChecker.Check(lowered);
        var x = Reference.Random((int)(3 * c.C * c.H * c.W), 9);
        Ort.AssertSameOutputs(Build(c, false).ToModel(), lowered, 1e-5, ("x", x, [3, (int)c.C, (int)c.H, (int)c.W]));
    }

    [Fact]
    public void LargerOutputsStayConvolutions()
    {
        var g = new GraphBuilder { SmallConvolutionsAsMatMul = true };
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, 2, 13, 13));
        g.AddOutput(g.Node1("Conv", [x, Param(g, "w", [3, 2, 3, 3], 1)]));
        Assert.Single(g.ToModel().Graph.Node, n => n.OpType == "Conv");
    }

    /// <summary>x → Conv → ReLU → MaxPool → Conv (5×5 → 3×3) → ReLU, the seed CNN's last two blocks, smaller: the small
    /// convolution reads the pooled convolution's batch-innermost output without transposing it.</summary>
    private static GraphBuilder AfterPool(bool lowered)
    {
        var g = new GraphBuilder { SmallConvolutionsAsMatMul = lowered, PooledConvolutionsAsMatMul = lowered, PoolBeforeRelu = lowered };
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, 1, 12, 12));
        var w1 = Param(g, "w1", [4, 1, 3, 3], 1);
        var b1 = Param(g, "b1", [4], 2);
        var w2 = Param(g, "w2", [3, 4, 3, 3], 3);
        var b2 = Param(g, "b2", [3], 4);
        var pooled = g.Node1("MaxPool", [g.Node1("Relu", [g.Node1("Conv", [x, w1, b1])])], [Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2])]);
        OutputWithGradients(g, g.Node1("Relu", [g.Node1("Conv", [pooled, w2, b2])]), [x, w1, b1, w2, b2]);
        return g;
    }

    [Fact]
    public void AfterAPooledConvolutionItReadsItsLayout()
    {
        var lowered = AfterPool(true).ToModel();
        var forward = lowered.Graph.Node.Where(n => !n.Name.StartsWith("grad/", StringComparison.Ordinal)).Select(n => n.OpType).ToList();
        Assert.DoesNotContain("Conv", forward);
        // Into the pooled block, and the small convolution's output to channels-last and back to NCHW: none in between.
        Assert.Equal(3, forward.Count(o => o == "Transpose"));
        OnnxChecker.Check(lowered);
        var x = Reference.Random(3 * 12 * 12, 8);
        Ort.AssertSameOutputs(AfterPool(false).ToModel(), lowered, 1e-5, ("x", x, [3, 1, 12, 12]));
    }

    [SkippableFact]
    public void TheLoweredGraphPassesFiniteDifferences()
    {
        var g = new GraphBuilder { SmallConvolutionsAsMatMul = true };
        var x = Param(g, "x", [2, 3, 5, 4], 5);
        var w = Param(g, "w", [2, 3, 3, 2], 6);
        var b = Param(g, "b", [2], 7);
        g.AddOutput(g.Node1("Conv", [x, w, b], [Attr.Ints("pads", [1, 0, 0, 1]), Attr.Ints("strides", [2, 1])]));
        var model = g.ToModel();
        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "Conv");
        var result = Run(model, null, new GradCheckOptions { Parameters = [x.Name, w.Name, b.Name] });
        Assert.True(result.Passed, result.ToString());
    }
}
