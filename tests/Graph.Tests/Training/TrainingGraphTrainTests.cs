using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Training;

/// <summary>Compiled train steps. They need the real autodiff (Gradients.Build) and fail until it is merged.</summary>
[Trait("Needs", "Autodiff")]
public sealed class TrainingGraphTrainTests
{
    private const int B = 8, In = 5, Classes = 3;
    private static readonly float[] X = Reference.Random(B * In, 31);
    private static readonly long[] Y = [0, 1, 2, 0, 1, 2, 2, 1];

    private static Sequential Mlp(ObjectSpec? regularizer = null) => new([
        new InputLayer(new InputLayerConfig { BatchShape = [null, In] }),
        new Dense(new DenseConfig { Units = 16, Activation = "relu", KernelRegularizer = regularizer }),
        new Dense(Classes, "softmax"),
    ]);

    private static Feed[] Batch(TrainingSignature sig) => [Feed.F(sig.Features.Single(), X, B, In), Feed.L(sig.Targets.Single(), Y, B)];

    [Fact]
    public void TrainStepSignaturePingPongsAndPassesTheChecker()
    {
        var compiled = TrainingGraph.Compile(Mlp(), "sparse_categorical_crossentropy", new Adam(), ["accuracy"]);
        OnnxChecker.Check(compiled.Model);
        var sig = compiled.Signature;
        var inputs = compiled.Model.Graph.Input.Select(i => i.Name).ToList();
        var outputs = compiled.Model.Graph.Output.Select(o => o.Name).ToList();
        Assert.Empty(inputs.Intersect(outputs));
        Assert.Equal(sig.Inputs.Select(i => i.Name), inputs);
        Assert.Equal(sig.Outputs.Select(o => o.Name), outputs);
        Assert.Equal(4, sig.Parameters.Count);
        Assert.Equal(8, sig.OptimizerState.Count);
        Assert.All(sig.Persistent, p => Assert.Equal(p.Input + ".new", p.Output));
        Assert.All(sig.Persistent, p => Assert.Contains(p.Output!, outputs));
        Assert.Equal(["loss", "accuracy"], outputs.Take(2));
        Assert.Equal(("lr", "step"), (sig.LearningRate, sig.Step));
    }

    [Fact]
    public void DenseModelMemorizesAFixedBatch()
    {
        var compiled = TrainingGraph.Compile(Mlp(), "sparse_categorical_crossentropy", new Adam { LearningRate = 0.01 }, ["accuracy"]);
        using var loop = new TrainingLoop(compiled);
        var first = loop.Step(Batch(compiled.Signature), 0.01f)["loss"][0];
        Dictionary<string, float[]> last = [];
        for (var k = 0; k < 199; k++) last = loop.Step(Batch(compiled.Signature), 0.01f);
        Assert.True(last["loss"][0] < 0.05f, $"loss {first} → {last["loss"][0]}");
        Assert.Equal(1f, last["accuracy"][0]);
    }

    [Fact]
    public void OneSgdStepOfALinearModelFollowsTheAnalyticGradient()
    {
        // y = x·W, mse: dL/dW = 2/(B·D)·xᵀ(x·W − t).
        const int b = 4, i = 3, d = 2;
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, i));
        var w0 = Reference.Random(i * d, 41);
        var w = g.AddInitializer(Tensors.Create("W", w0, i, d));
        var y = g.Node1("MatMul", [x, w]);
        var compiled = TrainingGraph.Compile(g, [y], ["y"], TrainingGraph.ParametersOf(g), [], ["mse"], new Sgd { LearningRate = 0.1 });
        OnnxChecker.Check(compiled.Model);
        var xv = Reference.Random(b * i, 42);
        var tv = Reference.Random(b * d, 43);
        using var loop = new TrainingLoop(compiled);
        loop.Step([Feed.F("x", xv, b, i), Feed.F("y_true", tv, b, d)], 0.1f);
        var pred = Reference.Dense(xv, b, i, w0, d, null);
        var expected = new float[i * d];
        for (var r = 0; r < i; r++)
            for (var c = 0; c < d; c++)
            {
                var grad = Enumerable.Range(0, b).Sum(s => 2.0 / (b * d) * xv[s * i + r] * (pred[s * d + c] - tv[s * d + c]));
                expected[r * d + c] = (float)(w0[r * d + c] - 0.1 * grad);
            }
        Reference.AssertClose(expected, loop.Persistent["W"]);
    }

    [Fact]
    public void FrozenLayersKeepTheirWeights()
    {
        var model = Mlp();
        model.StackedLayers[0].Trainable = false;
        var frozenKernel = (float[])model.StackedLayers[0].Weights[0].Data.Clone();
        var compiled = TrainingGraph.Compile(model, "sparse_categorical_crossentropy", new Sgd { LearningRate = 0.5 });
        var sig = compiled.Signature;
        Assert.Equal(2, sig.Parameters.Count);
        Assert.DoesNotContain(compiled.Model.Graph.Output, o => o.Name.StartsWith(model.StackedLayers[0].Name + "/", StringComparison.Ordinal));
        var kernel = compiled.Model.Graph.Initializer.Single(t => t.Name == sig.Frozen[0]);
        Assert.Equal(frozenKernel, Tensors.ToFloats(kernel));
        using var loop = new TrainingLoop(compiled);
        var first = loop.Step(Batch(sig), 0.5f)["loss"][0];
        var later = first;
        for (var k = 0; k < 30; k++) later = loop.Step(Batch(sig), 0.5f)["loss"][0];
        Assert.True(later < first, $"loss {first} → {later}");
    }

    [Fact]
    public void L2RegularizationShrinksUnusedWeights()
    {
        // With x = 0 the data loss has no gradient for the kernel: only the penalty moves it, by −lr·2·l2·W.
        var model = Mlp(ObjectSpec.Of("l2"));
        var compiled = TrainingGraph.Compile(model, "sparse_categorical_crossentropy", new Sgd { LearningRate = 1.0 });
        var sig = compiled.Signature;
        var kernel = sig.Parameters.Single(p => p.Weight == model.StackedLayers[0].Weights[0]);
        var before = kernel.Initial();
        using var loop = new TrainingLoop(compiled);
        loop.Step([Feed.F(sig.Features.Single(), new float[B * In], B, In), Feed.L(sig.Targets.Single(), Y, B)], 1f);
        Reference.AssertClose(before.Select(v => v * (1 - 2 * 0.01f)).ToArray(), loop.Persistent[kernel.Input]);
    }
}
