using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;

namespace NeuralService.Graph.Tests.Training;

/// <summary>Non-trainable state (as BatchNorm's moving statistics) flows through the train step as input → <c>.new</c>
/// output, and is an input of the eval graph.</summary>
public sealed class TrainingGraphStateTests
{
    private sealed record RunningMeanConfig : LayerConfig;

    /// <summary>y = x − m, where m tracks the batch mean in training: m ← 0.9·m + 0.1·mean_batch(x).</summary>
    private sealed class RunningMean() : UnaryLayer(new RunningMeanConfig())
    {
        private Weight? _mean;
        public override LayerConfig Config { get; } = new RunningMeanConfig();

        protected override void Build(TensorType input) => _mean = AddWeight("moving_mean", [input.Shape[-1].Known], NeuralService.Graph.Layers.Specs.Zeros, trainable: false);

        protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
        {
            var m = Use(g, _mean!);
            if (ctx.Training)
            {
                var batchMean = g.Node1("ReduceMean", [x], [Attr.Ints("axes", [0L]), Attr.Int("keepdims", 0)]);
                var next = g.Node1("Add", [g.Node1("Mul", [m, g.Constant(0.9f)]), g.Node1("Mul", [batchMean, g.Constant(0.1f)])]);
                ctx.StateUpdates.Add(new StateUpdate(_mean!, next));
            }
            return g.Node1("Sub", [x, m]);
        }
    }

    private static Sequential Model() => new([new InputLayer(new InputLayerConfig { BatchShape = [null, 2] }), new Dense(2), new RunningMean()]);

    /// <summary>Zero gradients: parameters stay put under SGD, so only the state moves.</summary>
    private static IReadOnlyDictionary<string, Value> Zero(GraphBuilder g, Value loss, IReadOnlyList<Value> wrt) =>
        wrt.ToDictionary(w => w.Name, w => g.Node1("Mul", [w, g.Constant(0f)]));

    [Fact]
    public void StateIsAnInputAndItsUpdateAnOutput()
    {
        var model = Model();
        var compiled = TrainingGraph.Compile(model, "mse", new Sgd(), gradients: Zero);
        OnnxChecker.Check(compiled.Model);
        var sig = compiled.Signature;
        var state = Assert.Single(sig.State);
        Assert.Equal("moving_mean", state.Weight!.ShortName);
        Assert.Equal(state.Input + ".new", state.Output);
        Assert.Equal(2, sig.Parameters.Count);
        Assert.Equal(TensorRole.State, sig.Inputs.Single(i => i.Name == state.Input).Role);

        float[] x = [1, 2, 3, 4, 5, 6];
        using var loop = new TrainingLoop(compiled);
        var dense = (Dense)model.StackedLayers[0];
        var h = Reference.Dense(x, 3, 2, dense.Weights[0].Data, 2, dense.Weights[1].Data);
        var expected = new[] { 0, 1 }.Select(c => (float)(0.1 * (h[c] + h[2 + c] + h[4 + c]) / 3)).ToArray();
        loop.Step([Feed.F(sig.Features.Single(), x, 3, 2), Feed.F(sig.Targets.Single(), new float[6], 3, 2)], 0.01f);
        Reference.AssertClose(expected, loop.Persistent[state.Input]);
        Reference.AssertClose(dense.Weights[0].Data, loop.Persistent[sig.Parameters[0].Input]);
    }

    [Fact]
    public void EvalGraphReadsStateUnderTheSameNames()
    {
        var model = Model();
        var train = TrainingGraph.Compile(model, "mse", new Sgd(), gradients: Zero);
        var eval = TrainingGraph.CompileEval(model, "mse");
        OnnxChecker.Check(eval.Model);
        Assert.Equal(train.Signature.State.Select(s => s.Input), eval.Signature.State.Select(s => s.Input));
        Assert.Equal(train.Signature.Parameters.Select(s => s.Input), eval.Signature.Parameters.Select(s => s.Input));
        Assert.All(eval.Signature.State, s => Assert.Null(s.Output));
        Assert.DoesNotContain(eval.Model.Graph.Initializer, t => t.Name == eval.Signature.State[0].Input);
    }
}
