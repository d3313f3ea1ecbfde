using NeuralService.Graph.Training;
using NeuralService.Graph.Tests.Support;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Fit;

/// <summary>Each symbolic-dim arrangement trains through <see cref="Trainer.Fit(InMemoryDataset, FitOptions?)"/> on a
/// fixed small set whose last batch is partial (10 samples, batch 4): the step graph runs at batch 4 and 2, the loss
/// stays finite and falls.</summary>
public sealed class SymbolicShapeTrainingTests
{
    public static TheoryData<string> Names => new(SymbolicArrangements.All.Select(a => a.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void TrainsWithAPartialLastBatch(string name)
    {
        var a = SymbolicArrangements.All.Single(x => x.Name == name);
        const int samples = 10, epochs = 6;
        var x = DataArray.Create(SymbolicArrangements.Data(a, samples, 11), [samples, .. a.Sample]);
        var y = DataArray.Create(Reference.Random(samples * 2, 12), samples, 2);
        using var trainer = new Trainer(a.Build(), new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 1 }, seed: 3);
        trainer.Compile(new Adam { LearningRate = 0.01 }, "mse");
        var history = trainer.Fit(new InMemoryDataset(x, y), new FitOptions { Epochs = epochs, BatchSize = 4, Shuffle = false, Verbose = 0 });

        Assert.Equal(epochs * 3, trainer.Step);
        var loss = history["loss"];
        Assert.All(loss, l => Assert.True(double.IsFinite(l), $"loss {string.Join(", ", loss)}"));
        Assert.True(loss[^1] < loss[0], $"loss did not fall: {string.Join(", ", loss)}");
    }
}
