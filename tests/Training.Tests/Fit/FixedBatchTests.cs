using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Fit;

/// <summary>Models whose batch_shape fixes the batch size (Keras's stateful recurrent configs) train only at that size,
/// and evaluate and predict in batches of it.</summary>
public sealed class FixedBatchTests
{
    // One time step from a zero state: the training forward never reads the recurrent kernel, the inference one does.
    private static Sequential OneStepRnn() => new([
        new InputLayer(new InputLayerConfig { BatchShape = [5, 1, 1] }), new SimpleRNN(4), new Dense(1),
    ]);

    private static InMemoryDataset Data()
    {
        var x = Enumerable.Range(0, 10).Select(i => i / 10f).ToArray();
        return new InMemoryDataset(DataArray.Create(x, 10, 1, 1), DataArray.Create(x.Select(v => 2 * v).ToArray(), 10, 1));
    }

    [Fact]
    public void AnotherBatchSizeIsRefusedNamingTheInput()
    {
        using var t = new Trainer(OneStepRnn(), new DeviceOptions { Kind = DeviceKind.Cpu });
        t.Compile(new Adam(), "mse");
        var e = Assert.Throws<ArgumentException>(() => t.Fit(Data(), new FitOptions { BatchSize = 4, Verbose = 0 }));
        Assert.Contains("takes batches of exactly 5 (its batch_shape); fit with batch size 5, got 4", e.Message);
    }

    [Fact]
    public void EvaluateAndPredictRunInTheModelsBatchesAndSeeWeightsTheStepNeverRead()
    {
        using var t = new Trainer(OneStepRnn(), new DeviceOptions { Kind = DeviceKind.Cpu }, seed: 1);
        t.Compile(new Adam { LearningRate = 0.01 }, "mse", ["mae"]);
        var h = t.Fit(Data(), new FitOptions { BatchSize = 5, Epochs = 3, Verbose = 0 });
        Assert.Equal(6, t.Step);
        var eval = t.Evaluate(Data(), batchSize: 32);
        var predicted = t.Predict(Data().Features, batchSize: 3)[0];
        Assert.Equal(10, predicted.Length);
        var truth = Data().Labels!.ToFloat32();
        Assert.Equal(Enumerable.Range(0, 10).Average(i => Math.Pow(predicted[i] - truth[i], 2)), eval["loss"], 4);
        Assert.True(double.IsFinite(h["loss"][^1]));
    }
}
