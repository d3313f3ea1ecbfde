using NeuralService.Graph.Keras;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Fit;

/// <summary><see cref="Trainer.WarmUp"/>: a discarded step on zeros before the first Fit leaves training as it would
/// have been without it (the parameters, the optimizer state and the step count the next step reads).</summary>
public sealed class WarmUpTests
{
    private static (History History, Dictionary<string, float[]> Weights) Train(bool warmUp, int warmUpBatch = 4)
    {
        var model = KerasModelJson.ReadFile(Path.Combine(RepoPaths.Specs, "mnist_cnn.json"));
        foreach (var w in model.Weights) Array.Fill(w.Data, 0.01f * (w.Path.Length % 7 + 1));
        using var trainer = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 1 }, seed: 1);
        trainer.Compile(new Adam { LearningRate = 0.01 }, "mse");
        if (warmUp) trainer.WarmUp(warmUpBatch);
        var history = trainer.Fit(SeedSpecTrainingTests.Generated(model, 3), new FitOptions { Epochs = 2, BatchSize = 4, Shuffle = false, Verbose = 0 });
        return (history, model.Weights.ToDictionary(w => w.Path, w => w.Data.ToArray()));
    }

    [Theory]
    [InlineData(4)]
    [InlineData(3)]
    public void AWarmUpStepChangesNothingTrainingSees(int warmUpBatch)
    {
        var (plain, plainWeights) = Train(false);
        var (warmed, warmedWeights) = Train(true, warmUpBatch);
        Assert.Equal(plain["loss"], warmed["loss"]);
        foreach (var (path, data) in plainWeights) Assert.Equal(data, warmedWeights[path]);
    }

    [Fact]
    public void TheStateTheNextStepReadsIsUntouched()
    {
        var model = KerasModelJson.ReadFile(Path.Combine(RepoPaths.Specs, "mnist_cnn.json"));
        using var trainer = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 1 }, seed: 1);
        // Sparse labels: the warm-up's zeros are class 0, so its step has a non-zero gradient and would move the
        // optimizer's moments if it were kept.
        trainer.Compile(new Adam { LearningRate = 0.01 }, "sparse_categorical_crossentropy");
        trainer.Prepare();
        var before = trainer.Snapshot();
        trainer.WarmUp(4);
        var after = trainer.Snapshot();
        Assert.Equal(before.Step, after.Step);
        Assert.Equal(before.Tensors.Keys.Order(), after.Tensors.Keys.Order());
        foreach (var (name, values) in before.Tensors) Assert.Equal(values, after.Tensors[name]);
    }

    [Fact]
    public void ABatchOfNoSamplesIsRefused()
    {
        var model = KerasModelJson.ReadFile(Path.Combine(RepoPaths.Specs, "mnist_cnn.json"));
        using var trainer = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu }, seed: 1);
        trainer.Compile(new Adam(), "mse");
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => trainer.WarmUp(0));
        Assert.Contains("at least one sample", e.Message);
    }
}
