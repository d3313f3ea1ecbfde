using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Training;

/// <summary>Metrics chosen per output, and the Keras log names the signature gives each loss and metric output.</summary>
public sealed class TrainingGraphOutputMetricsTests
{
    private static (GraphBuilder G, Value A, Value C) TwoOutputs()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, 2));
        var w = g.AddInitializer(Tensors.Create("W", [1f, 0f, 0f, 1f], 2, 2));
        var a = g.Node1("MatMul", [x, w]);
        return (g, a, g.Node1("Neg", [a]));
    }

    [Fact]
    public void EachOutputGetsItsOwnMetricsUnderKerasLogNames()
    {
        var (g, a, c) = TwoOutputs();
        var compiled = TrainingGraph.CompileEval(g, [a, c], ["a", "c"], TrainingGraph.ParametersOf(g), [],
            [new LossSpec("mse"), new LossSpec("mae") { Weight = 2 }], outputMetrics: [["mae", "mse"], []]);
        OnnxChecker.Check(compiled.Model);
        Assert.Equal(["loss", "a/loss", "c/loss", "a/mae", "a/mse"], compiled.Model.Graph.Output.Select(o => o.Name));
        var logs = compiled.Signature.LogNames;
        Assert.Equal(["loss", "a_loss", "c_loss", "a_mae", "a_mse"], compiled.Model.Graph.Output.Select(o => logs[o.Name]));
        Assert.Equal(["a/loss", "c/loss"], compiled.Signature.OutputLosses);
        using var session = new OrtSession(compiled.Model);
        var outs = session.Run([Feed.F("x", [1f, 2f], 1, 2), Feed.F("y_true/a", [0f, 0f], 1, 2), Feed.F("y_true/c", [0f, 0f], 1, 2),
            Feed.F("W", [1f, 0f, 0f, 1f], 2, 2)]);
        Reference.AssertClose([1.5f], outs["a/mae"]);
        Reference.AssertClose([2.5f], outs["a/mse"]);
        Reference.AssertClose([2.5f + 2 * 1.5f], outs["loss"]);
    }

    [Fact]
    public void OneOutputKeepsTheBareNames()
    {
        var (g, a, _) = TwoOutputs();
        var compiled = TrainingGraph.CompileEval(g, [a], ["a"], TrainingGraph.ParametersOf(g), [], [new LossSpec("mse")], ["mae"]);
        Assert.Equal(["loss", "mae"], compiled.Model.Graph.Output.Select(o => compiled.Signature.LogNames[o.Name]));
        Assert.Empty(compiled.Signature.OutputLosses);
    }

    [Fact]
    public void PerOutputMetricListsMustCoverEveryOutputAndLossWeightsBeValid()
    {
        var (g, a, c) = TwoOutputs();
        var p = TrainingGraph.ParametersOf(g);
        Assert.Contains("2 outputs but 1 per-output metric lists",
            Assert.Throws<ArgumentException>(() => TrainingGraph.CompileEval(g, [a, c], ["a", "c"], p, [], [new LossSpec("mse")], outputMetrics: [["mae"]])).Message);
        Assert.Contains("loss weight -1 of loss 'mean_squared_error' must be finite and non-negative",
            Assert.Throws<ArgumentException>(() => TrainingGraph.CompileEval(g, [a, c], ["a", "c"], p, [], [new LossSpec("mse") { Weight = -1 }])).Message);
    }
}
