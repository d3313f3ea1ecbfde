using NeuralService.Graph.Onnx;
using static NeuralService.Graph.Tests.Support.GradientTesting;

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
}
