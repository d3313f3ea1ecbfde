using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;

namespace NeuralService.Graph.Tests.Training;

public sealed class OptimizerGraphTests
{
    public static TheoryData<string, OptimizerSpec> Optimizers => new()
    {
        { "sgd", new Sgd() },
        { "sgd momentum", new Sgd { Momentum = 0.9 } },
        { "sgd nesterov", new Sgd { Momentum = 0.8, Nesterov = true } },
        { "adam", new Adam() },
        { "adam amsgrad", new Adam { Amsgrad = true, LearningRate = 0.01 } },
        { "adamw", new AdamW { LearningRate = 0.01, WeightDecay = 0.1 } },
        { "rmsprop", new RmsProp() },
        { "rmsprop momentum centered", new RmsProp { Momentum = 0.5, Centered = true, Rho = 0.8 } },
        { "rmsprop centered", new RmsProp { Centered = true } },
        { "adagrad", new Adagrad { LearningRate = 0.01 } },
        { "adadelta", new Adadelta { LearningRate = 1.0 } },
        { "adamax", new Adamax() },
        { "nadam", new Nadam { LearningRate = 0.01 } },
    };

    [Theory]
    [MemberData(nameof(Optimizers))]
    public void TenStepsMatchKerasFormula(string label, OptimizerSpec spec)
    {
        Assert.NotEmpty(label);
        OptimizerHarness.AssertMatchesKeras(spec);
    }

    [Fact]
    public void UpdateGraphsPassTheOnnxChecker()
    {
        var models = Optimizers.Select(row => OptimizerHarness.Build((OptimizerSpec)row[1], out _)).ToArray();
        OnnxChecker.Check(models);
    }

    [Fact]
    public void DefaultsAreKeras3s()
    {
        Assert.Equal(0.01, new Sgd().LearningRate);
        Assert.Equal(0.001, new Adam().LearningRate);
        Assert.Equal((0.9, 0.999, 1e-7), (new Adam().Beta1, new Adam().Beta2, new Adam().Epsilon));
        Assert.Equal(0.004, new AdamW().WeightDecay);
        Assert.Equal(0.95, new Adadelta().Rho);
        Assert.Equal(0.1, new Adagrad().InitialAccumulatorValue);
        Assert.Equal(0.9, new RmsProp().Rho);
        Assert.IsType<Nadam>(OptimizerGraph.Get("Nadam"));
    }

    [Fact]
    public void StateSlotsFollowTheOptions()
    {
        OptimizerHarness.Build(new Sgd(), out var plain);
        Assert.Empty(plain.State);
        OptimizerHarness.Build(new Adam { Amsgrad = true }, out var ams);
        Assert.Equal(9, ams.State.Count);
        Assert.Contains(ams.State, s => s.Input == "adam/p0/velocity_hat" && s.Output == "adam/p0/velocity_hat.new");
        OptimizerHarness.Build(new Nadam(), out var nadam);
        var global = Assert.Single(nadam.State, s => s.Parameter is null);
        Assert.Equal((1.0, 0), (global.Initial, global.Shape.Length));
        OptimizerHarness.Build(new Adagrad { InitialAccumulatorValue = 0.3 }, out var adagrad);
        Assert.All(adagrad.State, s => Assert.Equal(0.3, s.Initial));
    }

    [Fact]
    public void SmallParametersShareOneUpdate()
    {
        var adam = OptimizerHarness.Build(new Adam(), out var update);
        // The two small parameters: one Concat and one Split per tensor kind (parameter, momentum, velocity, and the
        // gradient's Concat); the large one keeps its own update, so two parameter-sized Sqrt nodes and β2^t's.
        Assert.Equal(4, adam.Graph.Node.Count(n => n.OpType == "Concat"));
        Assert.Equal(3, adam.Graph.Node.Count(n => n.OpType == "Split"));
        Assert.Equal(3, adam.Graph.Node.Count(n => n.OpType == "Sqrt"));
        Assert.Equal(["adam/p0/momentum", "adam/p0/velocity", "adam/p1/momentum", "adam/p1/velocity", "adam/p2/momentum", "adam/p2/velocity"],
            update.State.Select(s => s.Input));
        Assert.Equal([3L, 2L], update.State[0].Shape);
    }

    [Fact]
    public void StepScalarsAreEmittedOncePerStepNotPerParameter()
    {
        var adam = OptimizerHarness.Build(new Adam(), out _);
        Assert.Equal(2, adam.Graph.Node.Count(n => n.OpType == "Pow")); // β1^t and β2^t, shared by both parameters
        var nadam = OptimizerHarness.Build(new Nadam(), out _);
        Assert.Equal(3, nadam.Graph.Node.Count(n => n.OpType == "Pow")); // 0.96^t, 0.96^(t+1), β2^t
    }
}
