using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;

namespace NeuralService.Graph.Tests.Training;

public sealed class LossGraphTests
{
    [Fact]
    public void EveryLossVariantPassesTheOnnxChecker()
    {
        var cw = new Dictionary<int, double> { [1] = 2 };
        var models = new List<global::Onnx.ModelProto>();
        foreach (var name in new[] { "mse", "mae", "huber", "kld", "binary_crossentropy", "categorical_crossentropy" })
            foreach (var weighted in new[] { false, true })
                foreach (var reduction in Enum.GetValues<Reduction>())
                    models.Add(LossHarness.Build(new LossSpec(name) { Reduction = reduction }, [4, 3], [4, 3], weighted));
        models.Add(LossHarness.Build(new LossSpec("bce") { FromLogits = true, LabelSmoothing = 0.1, ClassWeights = cw }, [4, 1], [4, 1], true));
        models.Add(LossHarness.Build(new LossSpec("categorical_crossentropy") { FromLogits = true, LabelSmoothing = 0.1, ClassWeights = cw }, [4, 3], [4, 3], false));
        models.Add(LossHarness.Build(new LossSpec("sparse_categorical_crossentropy") { FromLogits = true, ClassWeights = cw }, [4], [4, 3], true));
        models.Add(LossHarness.Build(new LossSpec("sparse_categorical_crossentropy"), [4, 1], [4, 3], false));
        models.Add(LossHarness.Build(new LossSpec("mae"), [4, 2, 3], [4, 2, 3], true));
        OnnxChecker.Check([.. models]);
    }

    [Fact]
    public void AliasesResolveToKerasNames()
    {
        Assert.Equal("mean_squared_error", new LossSpec("MSE").Name);
        Assert.Equal("mean_absolute_error", new LossSpec("MeanAbsoluteError").Name);
        Assert.Equal("kl_divergence", new LossSpec("kullback_leibler_divergence").Name);
        Assert.Equal("huber", new LossSpec("huber_loss").Name);
        Assert.True(new LossSpec("SparseCategoricalCrossentropy").SparseLabels);
    }

    [Fact]
    public void InvalidArgumentsAreRejectedWithTheValue()
    {
        Assert.Contains("1.5", Assert.Throws<ArgumentException>(() => new LossSpec("bce") { LabelSmoothing = 1.5 }).Message);
        Assert.Contains("-1", Assert.Throws<ArgumentException>(() => new LossSpec("huber") { Delta = -1 }).Message);
    }
}
