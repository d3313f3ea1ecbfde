using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Training;

/// <summary>The eval graph needs no gradients, so it exercises the compiler's plumbing (targets, losses, metrics,
/// regularization, parameters as inputs, signature order) before the autodiff lands.</summary>
public sealed class TrainingGraphEvalTests
{
    private const int B = 6, In = 5, Classes = 3;

    private static Sequential Mlp(ObjectSpec? regularizer = null) => new([
        new InputLayer(new InputLayerConfig { BatchShape = [null, In] }),
        new Dense(new DenseConfig { Units = 4, Activation = "relu", KernelRegularizer = regularizer }),
        new Dense(Classes, "softmax"),
    ]);

    private static float[] Forward(Sequential m, float[] x)
    {
        var d1 = (Dense)m.StackedLayers[0];
        var d2 = (Dense)m.StackedLayers[1];
        var h = Reference.Dense(x, B, In, d1.Weights[0].Data, 4, d1.Weights[1].Data).Select(v => Math.Max(0, v)).ToArray();
        return Reference.Softmax(Reference.Dense(h, B, 4, d2.Weights[0].Data, Classes, d2.Weights[1].Data), B, Classes);
    }

    [Fact]
    public void EvalGraphComputesLossAndAccuracyWithParametersAsInputs()
    {
        var model = Mlp();
        var compiled = TrainingGraph.CompileEval(model, "sparse_categorical_crossentropy", ["accuracy"]);
        OnnxChecker.Check(compiled.Model);
        var sig = compiled.Signature;
        Assert.Equal([TensorRole.Feature, TensorRole.Target, TensorRole.Parameter, TensorRole.Parameter, TensorRole.Parameter, TensorRole.Parameter],
            sig.Inputs.Select(i => i.Role));
        Assert.Equal(sig.Inputs.Select(i => i.Name), compiled.Model.Graph.Input.Select(i => i.Name));
        Assert.DoesNotContain(compiled.Model.Graph.Initializer, t => sig.Parameters.Any(p => p.Input == t.Name));
        Assert.Equal(["loss", "accuracy"], compiled.Model.Graph.Output.Select(o => o.Name));
        Assert.All(sig.Parameters, p => Assert.Null(p.Output));

        var x = Reference.Random(B * In, 3);
        long[] y = [0, 1, 2, 2, 1, 0];
        using var session = new OrtSession(compiled.Model);
        var feeds = new List<Feed> { Feed.F(sig.Features.Single(), x, B, In), Feed.L(sig.Targets.Single(), y, B) };
        feeds.AddRange(sig.Parameters.Select(p => Feed.F(p.Input, p.Initial(), p.Shape.Select(d => (int)d).ToArray())));
        var outs = session.Run(feeds);

        var probs = Forward(model, x);
        var loss = Enumerable.Range(0, B).Average(b => -Math.Log(probs[b * Classes + y[b]]));
        var hits = Enumerable.Range(0, B).Count(b => Enumerable.Range(0, Classes).MaxBy(c => probs[b * Classes + c]) == y[b]);
        Reference.AssertClose([(float)loss], outs["loss"]);
        Assert.Equal((float)hits / B, outs["accuracy"][0], 6);
    }

    [Fact]
    public void RegularizationOfTrainableWeightsIsAddedToTheLoss()
    {
        var model = Mlp(ObjectSpec.Of("l2"));
        var compiled = TrainingGraph.CompileEval(model, "categorical_crossentropy", sampleWeight: true);
        var sig = compiled.Signature;
        Assert.Equal("sample_weight", sig.SampleWeight);
        var x = Reference.Random(B * In, 4);
        int[] labels = [2, 1, 0, 0, 1, 2];
        var t = LossHarness.OneHot(labels, Classes);
        float[] w = [1, 1, 0, 2, 1, 1];
        using var session = new OrtSession(compiled.Model);
        var feeds = new List<Feed> { Feed.F(sig.Features.Single(), x, B, In), Feed.F(sig.Targets.Single(), t, B, Classes), Feed.F("sample_weight", w, B) };
        feeds.AddRange(sig.Parameters.Select(p => Feed.F(p.Input, p.Initial(), p.Shape.Select(d => (int)d).ToArray())));
        var got = session.Run(feeds)["loss"];
        var probs = Forward(model, x);
        var data = Enumerable.Range(0, B).Sum(b => -Math.Log(probs[b * Classes + labels[b]]) * w[b]) / B;
        var penalty = 0.01 * model.StackedLayers[0].Weights[0].Data.Sum(v => (double)v * v);
        Reference.AssertClose([(float)(data + penalty)], got);
    }

    [Fact]
    public void FrozenLayersStayConstantsAndLeaveTheParameterList()
    {
        var model = Mlp(ObjectSpec.Of("l1"));
        model.StackedLayers[0].Trainable = false;
        var compiled = TrainingGraph.CompileEval(model, "mse");
        var sig = compiled.Signature;
        Assert.Equal(2, sig.Parameters.Count);
        Assert.All(sig.Parameters, p => Assert.Same(model.StackedLayers[1], p.Weight!.Owner));
        Assert.Equal(2, sig.Frozen.Count);
        Assert.All(sig.Frozen, n => Assert.Contains(compiled.Model.Graph.Initializer, t => t.Name == n));
        // A frozen layer's regularizer is not part of the loss (Keras regularizes trainable weights only).
        Assert.DoesNotContain(compiled.Model.Graph.Node, n => n.Name.Contains("regularization"));
    }

    [Fact]
    public void NestedFrozenModelsFreezeTheirLayers()
    {
        var inner = Mlp();
        var outer = new Sequential([new InputLayer(new InputLayerConfig { BatchShape = [null, In] }), inner, new Dense(2)]);
        inner.Trainable = false;
        var trainability = TrainingGraph.Trainability(outer);
        Assert.Equal(6, trainability.Count);
        Assert.Equal(2, trainability.Count(kv => kv.Value));
    }

    [Fact]
    public void ImportedGraphsTrainTheirFloatInitializersExceptTheFrozenOnes()
    {
        // Stands in for GraphBuilder.FromModel: a forward graph whose weights are float initializers.
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, 2));
        var w = g.AddInitializer(Tensors.Create("W", [1f, 2f, 3f, 4f, 5f, 6f], 2, 3));
        var b = g.AddInitializer(Tensors.Create("b", [0.5f, -0.5f, 1f], 3));
        var shape = g.Ints(-1, 3);
        var y = g.Node1("Reshape", [g.Node1("Add", [g.Node1("MatMul", [x, w]), b]), shape]);
        var parameters = TrainingGraph.ParametersOf(g, frozen: name => name == "b");
        Assert.Equal(["W"], parameters.Where(p => p.Trainable).Select(p => p.Value.Name));
        var compiled = TrainingGraph.CompileEval(g, [y], ["out"], parameters, [], ["mse"]);
        OnnxChecker.Check(compiled.Model);
        Assert.Equal(["x", "y_true", "W"], compiled.Model.Graph.Input.Select(i => i.Name));
        Assert.Equal(["b"], compiled.Signature.Frozen);
        Assert.Equal([1f, 2f, 3f, 4f, 5f, 6f], compiled.Signature.Parameters[0].Initial());
        using var session = new OrtSession(compiled.Model);
        var outs = session.Run([Feed.F("x", [1f, 1f], 1, 2), Feed.F("y_true", [5f, 7f, 10f], 1, 3), Feed.F("W", new float[6], 2, 3)]);
        // With W fed as zeros the prediction is b: errors 4.5, 7.5, 9.
        Reference.AssertClose([(float)((4.5 * 4.5 + 7.5 * 7.5 + 81) / 3)], outs["loss"]);
    }

    [Fact]
    public void MultipleOutputsWeighTheirLossesAndReportEach()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, 2));
        var w = g.AddInitializer(Tensors.Create("W", [1f, 0f, 0f, 1f], 2, 2));
        var a = g.Node1("MatMul", [x, w]);
        var c = g.Node1("Neg", [a]);
        var compiled = TrainingGraph.CompileEval(g, [a, c], ["a", "c"], TrainingGraph.ParametersOf(g), [],
            [new LossSpec("mse") { Weight = 0.5 }, new LossSpec("mae") { Weight = 2 }], ["mae"]);
        OnnxChecker.Check(compiled.Model);
        Assert.Equal(["loss", "a/loss", "c/loss", "a/mae", "c/mae"], compiled.Model.Graph.Output.Select(o => o.Name));
        Assert.Equal(["x", "y_true/a", "y_true/c", "W"], compiled.Model.Graph.Input.Select(i => i.Name));
        using var session = new OrtSession(compiled.Model);
        var outs = session.Run([Feed.F("x", [1f, 2f], 1, 2), Feed.F("y_true/a", [0f, 0f], 1, 2), Feed.F("y_true/c", [0f, 0f], 1, 2),
            Feed.F("W", [1f, 0f, 0f, 1f], 2, 2)]);
        Reference.AssertClose([2.5f], outs["a/loss"]);
        Reference.AssertClose([1.5f], outs["c/loss"]);
        Reference.AssertClose([0.5f * 2.5f + 2 * 1.5f], outs["loss"]);
    }

    [Fact]
    public void UnreducedLossesAreRejected()
    {
        var e = Assert.Throws<ArgumentException>(() => TrainingGraph.CompileEval(Mlp(), new LossSpec("mse") { Reduction = Reduction.None }));
        Assert.Contains("none", e.Message);
    }
}
