using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Onnx;
using static NeuralService.Graph.Tests.Support.GradientTesting;

namespace NeuralService.Graph.Tests.Autodiff;

public sealed class ArithmeticGradientTests
{
    [SkippableFact]
    public void BinaryOpsBroadcast()
    {
        var results = CheckAll(
            [.. new[] { "Add", "Sub", "Mul", "Div" }.SelectMany(op => new[]
            {
                C($"{op} same", g => g.Op(op, Param(g, "a", [2, 3], 1), Param(g, "b", [2, 3], 2, 0.5f, 2f))),
                C($"{op} row", g => g.Op(op, Param(g, "a", [2, 3, 4], 3), Param(g, "b", [4], 4, 0.5f, 2f))),
                C($"{op} both", g => g.Op(op, Param(g, "a", [3, 1], 5), Param(g, "b", [1, 4], 6, 0.5f, 2f))),
                C($"{op} scalar", g => g.Op(op, Param(g, "a", [], 7, 0.5f, 2f), Param(g, "b", [2, 3], 8, 0.5f, 2f))),
            })]);
        Assert.All(results, r => Assert.Equal(GradCheckBackend.OnnxRuntime, r.Backend));
    }

    [SkippableFact]
    public void Pow()
    {
        CheckAll(
            C("pow", g => g.Op("Pow", Param(g, "a", [2, 3], 1, 0.5f, 1.5f), Param(g, "b", [2, 3], 2))),
            C("pow broadcast exponent", g => g.Op("Pow", Param(g, "a", [2, 3], 3, 0.5f, 1.5f), Param(g, "b", [3], 4))));
    }

    [SkippableFact]
    public void VariadicOps()
    {
        CheckAll(
            C("sum", g => g.Op("Sum", Param(g, "a", [2, 3], 1), Param(g, "b", [3], 2), Param(g, "c", [2, 1], 3))),
            C("mean", g => g.Op("Mean", Param(g, "a", [2, 3], 4), Param(g, "b", [2, 3], 5))),
            C("max", g => g.Op("Max", Param(g, "a", [2, 3], 6), Param(g, "b", [3], 7), Param(g, "c", [2, 3], 8))),
            C("min", g => g.Op("Min", Param(g, "a", [2, 3], 9), Param(g, "b", [2, 1], 10))));
    }

    [SkippableFact]
    public void WhereAndClip()
    {
        CheckAll(
            C("where", g => g.Op("Where", g.Op("Greater", Param(g, "c", [2, 3], 1), g.Scalar(0, Float)), Param(g, "a", [2, 3], 2), Param(g, "b", [3], 3))),
            C("clip", g => g.Op("Clip", Param(g, "x", [3, 4], 4), Param(g, "lo", [], 5, 0.1f, -0.5f), Param(g, "hi", [], 6, 0.1f, 0.5f))),
            C("clip max only", g => g.Op("Clip", Param(g, "x", [3, 4], 7), null, Param(g, "hi", [], 8, 0.1f, 0.3f))),
            C("cast roundtrip", g => g.Op("Cast", [g.Op("Cast", [Param(g, "x", [2, 3], 9)], Attr.Int("to", (long)global::Onnx.TensorProto.Types.DataType.Double))],
                Attr.Int("to", (long)global::Onnx.TensorProto.Types.DataType.Float))),
            C("identity", g => g.Op("Identity", Param(g, "x", [2, 3], 10))),
            C("prelu", g => g.Op("PRelu", Param(g, "x", [2, 3, 4], 11), Param(g, "slope", [3, 1], 12))),
            C("cumsum", g => g.Op("CumSum", Param(g, "x", [2, 4], 13), g.Ints(1))),
            C("cumsum reverse exclusive", g => g.Op("CumSum", [Param(g, "x", [3, 4], 14), g.Ints(0)], Attr.Int("reverse", 1), Attr.Int("exclusive", 1))));
    }
}
