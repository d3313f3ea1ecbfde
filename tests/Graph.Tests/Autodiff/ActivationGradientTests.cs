using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Tests.Support;
using static NeuralService.Graph.Tests.Support.GradientTesting;

namespace NeuralService.Graph.Tests.Autodiff;

public sealed class ActivationGradientTests
{
    private static Value Unary(GraphBuilder g, string op, long[] dims, int seed, float scale = 1f, float offset = 0f, params global::Onnx.AttributeProto[] attrs) =>
        g.Op(op, [Param(g, "x", dims, seed, scale, offset)], attrs);

    [SkippableFact]
    public void SmoothUnaryOps()
    {
        CheckAll(
            C("neg", g => Unary(g, "Neg", [2, 3], 1)),
            C("abs", g => Unary(g, "Abs", [2, 3], 2)),
            C("exp", g => Unary(g, "Exp", [2, 3], 3)),
            C("log", g => Unary(g, "Log", [2, 3], 4, 0.5f, 1.5f)),
            C("sqrt", g => Unary(g, "Sqrt", [2, 3], 5, 0.5f, 1.5f)),
            C("reciprocal", g => Unary(g, "Reciprocal", [2, 3], 6, 0.5f, 1.5f)),
            C("tanh", g => Unary(g, "Tanh", [2, 3], 7)),
            C("sigmoid", g => Unary(g, "Sigmoid", [2, 3], 8, 3f)),
            C("softplus", g => Unary(g, "Softplus", [2, 3], 9, 3f)),
            C("softsign", g => Unary(g, "Softsign", [2, 3], 10, 3f)),
            C("erf", g => Unary(g, "Erf", [2, 3], 11, 2f)),
            C("sin", g => Unary(g, "Sin", [2, 3], 12, 3f)),
            C("cos", g => Unary(g, "Cos", [2, 3], 13, 3f)));
    }

    [SkippableFact]
    public void PiecewiseUnaryOps()
    {
        CheckAll(
            C("relu", g => Unary(g, "Relu", [3, 4], 1)),
            C("leaky relu", g => Unary(g, "LeakyRelu", [3, 4], 2, 1f, 0f, Attr.Float("alpha", 0.3f))),
            C("elu", g => Unary(g, "Elu", [3, 4], 13, 2f, 0f, Attr.Float("alpha", 0.7f))),
            C("selu", g => Unary(g, "Selu", [3, 4], 4, 2f)),
            C("hard sigmoid", g => Unary(g, "HardSigmoid", [3, 4], 5, 4f)),
            C("hard swish", g => Unary(g, "HardSwish", [3, 4], 7, 5f)),
            C("hard sigmoid attrs", g => Unary(g, "HardSigmoid", [3, 4], 6, 2f, 0f, Attr.Float("alpha", 0.4f), Attr.Float("beta", 0.3f))));
    }

    [SkippableFact]
    public void SoftmaxFamily()
    {
        CheckAll(
            C("softmax last", g => Unary(g, "Softmax", [2, 5], 1, 2f)),
            C("softmax axis 1 of 3", g => Unary(g, "Softmax", [2, 3, 4], 2, 2f, 0f, Attr.Int("axis", 1))),
            C("logsoftmax last", g => Unary(g, "LogSoftmax", [3, 4], 3, 2f)),
            C("logsoftmax axis 0", g => Unary(g, "LogSoftmax", [3, 2, 2], 4, 2f, 0f, Attr.Int("axis", 0))));
    }

    [SkippableFact]
    public void DropoutInference() => CheckAll(C("dropout inference", g => g.Op("Dropout", Param(g, "x", [3, 4], 1))));

    /// <summary>Training dropout draws a new mask each run, so finite differences do not apply: with loss = Σ Y⊙P the
    /// gradient must be dX = P·mask/(1 − ratio), i.e. dX·X = P·Y elementwise within the same run.</summary>
    [SkippableFact]
    public void DropoutTrainingUsesTheForwardMask()
    {
        var g = new GraphBuilder();
        var xData = Reference.Random(40, 1).Select(v => v + 2f).ToArray();
        var pData = Reference.Random(40, 2);
        var x = g.Constant(Tensors.Create("x", xData, 5, 8), "x");
        var y = g.Node("Dropout", [x, g.Scalar(0.4, Float), g.Constant(Tensors.Create("t", [true]), "t")], [Attr.Int("seed", 7)], 1)[0];
        var loss = g.Node1("ReduceSum", [g.Op("Mul", y, g.Constant(Tensors.Create("p", pData, 5, 8), "p"))], [Attr.Int("keepdims", 0)]);
        var dx = Gradients.Build(g, loss, [x])[x.Name];
        g.AddOutput(y, "y");
        g.AddOutput(dx, "dx");
        var model = g.ToModel();
        OnnxChecker.Check(model);
        var outs = Ort.Run(model);
        var (yv, dxv) = (outs["y"].Data, outs["dx"].Data);
        Assert.Contains(yv, v => v == 0);
        Assert.Contains(yv, v => v != 0);
        Reference.AssertClose(pData.Select((p, i) => p * yv[i]).ToArray(), dxv.Select((d, i) => d * xData[i]).ToArray(), 1e-5, "dX·X vs P·Y");
    }
}
