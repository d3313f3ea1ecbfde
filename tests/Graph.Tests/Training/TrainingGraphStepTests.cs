using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Training;

/// <summary>The whole train step (loss, gradients, optimizer, ping-pong of parameters and state) on a linear model whose
/// gradient is written by hand, so it runs without the autodiff: mse of y = x·W has dL/dW = 2/(B·D)·xᵀ(x·W − t).</summary>
public sealed class TrainingGraphStepTests
{
    private const int B = 4, I = 3, D = 2;

    private static CompiledGraph Compile(float[] w0, OptimizerSpec optimizer)
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(B, I));
        var w = g.AddInitializer(Tensors.Create("W", w0, I, D));
        var y = g.Node1("MatMul", [x, w]);
        GradientBuilder byHand = (gb, loss, wrt) =>
        {
            var residual = gb.Node1("Sub", [y, gb["y_true"]]);
            var xt = gb.Node1("Transpose", [x], [Attr.Ints("perm", [1L, 0L])]);
            var grad = gb.Node1("Mul", [gb.Node1("MatMul", [xt, residual]), gb.Constant(2f / (B * D))]);
            return new Dictionary<string, Value> { [wrt.Single().Name] = grad };
        };
        return TrainingGraph.Compile(g, [y], ["y"], TrainingGraph.ParametersOf(g), [], ["mse"], optimizer, ["mae"], gradients: byHand);
    }

    private static double[] Gradient(float[] x, double[] w, float[] t)
    {
        var grad = new double[I * D];
        for (var r = 0; r < I; r++)
            for (var c = 0; c < D; c++)
                for (var s = 0; s < B; s++)
                {
                    var pred = Enumerable.Range(0, I).Sum(k => x[s * I + k] * w[k * D + c]);
                    grad[r * D + c] += 2.0 / (B * D) * x[s * I + r] * (pred - t[s * D + c]);
                }
        return grad;
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("nadam")]
    public void TenTrainStepsMatchTheReferenceOptimizerOnTheAnalyticGradient(string name)
    {
        var optimizer = OptimizerGraph.Get(name) with { LearningRate = 0.05 };
        var w0 = Reference.Random(I * D, 51);
        var compiled = Compile(w0, optimizer);
        OnnxChecker.Check(compiled.Model);
        var sig = compiled.Signature;
        Assert.Equal(["x", "y_true", "lr", "step", "W", .. sig.OptimizerState.Select(s => s.Input)], compiled.Model.Graph.Input.Select(i => i.Name));
        Assert.Equal(["loss", "mae", "W.new", .. sig.OptimizerState.Select(s => s.Output)], compiled.Model.Graph.Output.Select(o => o.Name));

        var x = Reference.Random(B * I, 52);
        var t = Reference.Random(B * D, 53);
        var reference = new OptimizerReference(optimizer, [w0.Select(v => (double)v).ToArray()]);
        using var loop = new TrainingLoop(compiled);
        for (var k = 0; k < 10; k++)
        {
            var w = reference.Parameters[0];
            var pred = Enumerable.Range(0, B * D).Select(e => Enumerable.Range(0, I).Sum(r => x[e / D * I + r] * w[r * D + e % D])).ToArray();
            var mse = pred.Select((p, e) => (p - t[e]) * (p - t[e])).Average();
            var outs = loop.Step([Feed.F("x", x, B, I), Feed.F("y_true", t, B, D)], 0.05f);
            Reference.AssertClose([(float)mse], outs["loss"], 1e-5, $"loss at step {k}");
            reference.Step([Gradient(x, w, t)], 0.05);
            Reference.AssertClose(reference.Parameters[0].Select(v => (float)v).ToArray(), loop.Persistent["W"], 1e-6, $"W after step {k}");
        }
    }
}
