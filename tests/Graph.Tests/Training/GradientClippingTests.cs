using NeuralService.Graph.Training;

namespace NeuralService.Graph.Tests.Training;

public sealed class GradientClippingTests
{
    // Gradients of scale 3 have norms of ~4–5 per tensor, so every clip below is active.
    [Fact]
    public void ClipNormRescalesEachGradient() => OptimizerHarness.AssertMatchesKeras(new Sgd { ClipNorm = 1.0, LearningRate = 0.05 }, gradScale: 3f);

    [Fact]
    public void ClipValueClipsEachElement() => OptimizerHarness.AssertMatchesKeras(new Adam { ClipValue = 0.5 }, gradScale: 3f);

    [Fact]
    public void GlobalClipNormRescalesAllGradientsTogether() =>
        OptimizerHarness.AssertMatchesKeras(new Sgd { GlobalClipNorm = 2.0, Momentum = 0.9, LearningRate = 0.05 }, gradScale: 3f);

    [Fact]
    public void InactiveClipsChangeNothing() => OptimizerHarness.AssertMatchesKeras(new Sgd { ClipNorm = 1000, LearningRate = 0.05 }, steps: 3);

    [Fact]
    public void OnlyOneClipMayBeSet()
    {
        var e = Assert.Throws<ArgumentException>(() => OptimizerHarness.Build(new Adam { ClipNorm = 1, ClipValue = 1 }, out _));
        Assert.Contains("only one of clipnorm", e.Message);
    }

    [Fact]
    public void WeightDecayWorksOnAnyOptimizer() => OptimizerHarness.AssertMatchesKeras(new Sgd { WeightDecay = 0.5, LearningRate = 0.1 });
}
