using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Fit;

/// <summary>The step loop fills the same batch arrays step after step: a new array per step (here 512 kB, on the
/// large-object heap) grows the heap until a full collection and faults in fresh pages every step.</summary>
public sealed class StepAllocationTests
{
    private const int Width = 2048;
    private const int BatchSize = 64;

    private static long AllocatedByFit(Trainer trainer, InMemoryDataset data)
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        trainer.Fit(data, new FitOptions { Epochs = 1, BatchSize = BatchSize, Verbose = 0 });
        return GC.GetAllocatedBytesForCurrentThread() - before;
    }

    [Fact]
    public void AStepAllocatesFarLessThanItsBatch()
    {
        var model = new Sequential([new InputLayer(new InputLayerConfig { BatchShape = [null, Width] }), new Dense(2, "softmax")]);
        using var trainer = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 1 }, seed: 1);
        trainer.Compile(new Adam(), "sparse_categorical_crossentropy", ["accuracy"]);
        InMemoryDataset Data(int steps)
        {
            var n = steps * BatchSize;
            var random = new Random(steps);
            return new InMemoryDataset(DataArray.Create(Enumerable.Range(0, n * Width).Select(_ => random.NextSingle()).ToArray(), n, Width),
                DataArray.Vector(Enumerable.Range(0, n).Select(i => (long)(i % 2)).ToArray()));
        }
        var (few, many) = (Data(4), Data(24));
        AllocatedByFit(trainer, few);
        var perStep = (AllocatedByFit(trainer, many) - AllocatedByFit(trainer, few)) / 20.0;
        var batchBytes = BatchSize * Width * sizeof(float);
        Assert.True(perStep < batchBytes / 8.0, $"{perStep:F0} bytes allocated per step, against {batchBytes} in a batch");
    }
}
