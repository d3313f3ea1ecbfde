using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using static NeuralService.Graph.Tests.Support.GradientTesting;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Autodiff;

public sealed class ReductionGradientTests
{
    [SkippableFact]
    public void ReduceSum()
    {
        CheckAll(
            C("axes keepdims", g => g.Op("ReduceSum", Param(g, "x", [2, 3, 4], 1), g.Ints(1))),
            C("axes dropped", g => g.Op("ReduceSum", [Param(g, "x", [2, 3, 4], 2), g.Ints(0, -1)], Attr.Int("keepdims", 0))),
            C("all", g => g.Op("ReduceSum", [Param(g, "x", [2, 3], 3)], Attr.Int("keepdims", 0))));
    }

    [SkippableFact]
    public void ReduceMeanAndMax()
    {
        CheckAll(
            C("mean keepdims", g => g.Op("ReduceMean", [Param(g, "x", [2, 3, 4], 1)], Attr.Ints("axes", [2]))),
            C("mean dropped", g => g.Op("ReduceMean", [Param(g, "x", [2, 3, 4], 2)], Attr.Ints("axes", [0, 2]), Attr.Int("keepdims", 0))),
            C("mean all", g => g.Op("ReduceMean", Param(g, "x", [3, 3], 3))),
            C("max axis", g => g.Op("ReduceMax", [Param(g, "x", [2, 3, 4], 4)], Attr.Ints("axes", [1]))),
            C("max dropped", g => g.Op("ReduceMax", [Param(g, "x", [2, 5], 5)], Attr.Ints("axes", [-1]), Attr.Int("keepdims", 0))));
    }

    [Fact]
    public void MinAndNormLikeReductions()
    {
        CheckAll(
            C("min axis", g => g.Op("ReduceMin", [Param(g, "x", [2, 3, 4], 1)], Attr.Ints("axes", [1]))),
            C("min dropped", g => g.Op("ReduceMin", [Param(g, "x", [2, 5], 2)], Attr.Ints("axes", [-1]), Attr.Int("keepdims", 0))),
            C("l1", g => g.Op("ReduceL1", [Param(g, "x", [2, 3, 4], 3)], Attr.Ints("axes", [2]))),
            C("l2 dropped", g => g.Op("ReduceL2", [Param(g, "x", [2, 3, 4], 4)], Attr.Ints("axes", [0, 2]), Attr.Int("keepdims", 0))),
            C("sum square", g => g.Op("ReduceSumSquare", [Param(g, "x", [3, 4], 5)], Attr.Ints("axes", [1]))),
            C("log sum exp", g => g.Op("ReduceLogSumExp", [Param(g, "x", [2, 3, 4], 6, 2f)], Attr.Ints("axes", [1]), Attr.Int("keepdims", 0))));
    }

    /// <summary>Tied maxima (minima) share dY: each of k tied inputs gets dY/k, so the row's gradient sums to dY, as in
    /// TensorFlow's and JAX's reductions.</summary>
    [Theory]
    [InlineData("ReduceMax", new[] { 0f, 1.5f, 1.5f, 0f, 1.25f, 1.25f, 1.25f, 1.25f })]
    [InlineData("ReduceMin", new[] { 1.5f, 0f, 0f, 1.5f, 1.25f, 1.25f, 1.25f, 1.25f })]
    public void TiedExtremaShareTheGradient(string op, float[] expected)
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(2, 4));
        var y = g.Op(op, [x], Attr.Ints("axes", [1]), Attr.Int("keepdims", 0));
        var loss = g.Node1("ReduceSum", [g.Mul(y, g.Constant([3f, 5f], [2]))], [Attr.Int("keepdims", 0)]);
        g.AddOutput(Gradients.Build(g, loss, [x])["x"], "dx");
        // Row 1 [1, 2, 2, 1]: its maximum ties twice, its minimum too; row 2 [7, 7, 7, 7] ties four times.
        var (dx, _) = Ort.Run1(g.ToModel(), [1f, 2f, 2f, 1f, 7f, 7f, 7f, 7f], [2, 4]);
        Assert.Equal(expected, dx);
    }
}
