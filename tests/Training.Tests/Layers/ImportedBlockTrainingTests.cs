using NeuralService.Graph.Training;
using NeuralService.Graph.Tests.Layers.Core;
using NeuralService.Graph.Tests.Support;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Layers;

/// <summary>The two transfer-learning stages on a block cut from an imported ResNet-style model: the head alone with
/// the block frozen, then the block unfrozen and fine-tuned at a small rate, continuing the epoch count.</summary>
public sealed class ImportedBlockTrainingTests
{
    [Fact]
    public void StageOneLeavesTheBlockStageTwoFineTunesItAndContinuesTheEpochs()
    {
        var (model, block) = ImportedBlockTests.HeadOnBlock(trainable: false, name: "stages");
        const int n = 12;
        var x = Reference.Random(n * TinyResNet.Width * TinyResNet.Side * TinyResNet.Side, 23).Select(v => v + 0.5f).ToArray();
        var y = Enumerable.Range(0, n).Select(i => (long)(i % 3)).ToArray();
        var data = new InMemoryDataset(DataArray.Create(x, n, TinyResNet.Width, TinyResNet.Side, TinyResNet.Side), DataArray.Vector(y));
        var initial = block.Weights.ToDictionary(w => w.ShortName, w => w.Data.ToArray());

        using var trainer = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 1 }, seed: 1);
        trainer.Compile(new Adam { LearningRate = 1e-2 }, "sparse_categorical_crossentropy", ["accuracy"]);
        var first = trainer.Fit(data, new FitOptions { Epochs = 2, BatchSize = 4, Verbose = 0 });
        Assert.Equal([0, 1], first.Epochs);
        Assert.All(block.Weights, w => Assert.Equal(initial[w.ShortName], w.Data));

        block.Trainable = true;
        trainer.Compile(new Adam { LearningRate = 1e-3 }, "sparse_categorical_crossentropy", ["accuracy"]);
        var second = trainer.Fit(data, new FitOptions { Epochs = 4, InitialEpoch = 2, BatchSize = 4, Verbose = 0 });
        Assert.Equal([2, 3], second.Epochs);
        // A new optimizer: Adam's step count restarted with the recompile (3 steps per epoch).
        Assert.Equal(6, trainer.Step);
        Assert.All(second["loss"], l => Assert.True(double.IsFinite(l)));
        foreach (var w in block.Weights)
        {
            var changed = !initial[w.ShortName].SequenceEqual(w.Data);
            // Inference-mode BatchNorm: its statistics are not trained and not updated.
            Assert.True(changed == w.Trainable, $"{w}: changed {changed}, trainable {w.Trainable}");
        }
        Assert.True(second["loss"][^1] < first["loss"][0], $"loss {first["loss"][0]} → {second["loss"][^1]}");
    }
}
