using NeuralService.Graph.Keras;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Training.Tests.Fit;

/// <summary>Every architecture under onnx-models/specs trains with <see cref="Trainer.Fit(InMemoryDataset, FitOptions?)"/>:
/// a short fit (10 generated samples of the model's input and output shapes, batches of 4 with a partial last one,
/// mse) gives finite losses and changes every trainable weight.</summary>
public sealed class SeedSpecTrainingTests
{
    private const int Samples = 10;

    /// <summary>Spec file → why it cannot train through the trainer yet (null: it trains).</summary>
    private static readonly Dictionary<string, string?> Specs = new()
    {
        ["mlp.json"] = null,
        ["mnist_cnn.json"] = null,
        ["imdb_lstm.json"] = null,
        ["stock_lstm.json"] = null,
        ["resnet_head.json"] = "BatchNormalization after a Dense: its batch-variance gradient needs the batch dim static (ReduceMean 'head_norm/BatchVariance')",
        ["gru.json"] = null,
        ["bidirectional.json"] = "Bidirectional's time reversal has no gradient with a symbolic batch (Slice 'bidirectional/Reverse' needs a static input shape)",
        ["conv_autoencoder.json"] = null,
        ["ssm_classifier.json"] = null,
        ["transformer_classifier.json"] = null,
        ["two_input.json"] = "Trainer feeds one input and one target; several inputs/outputs are trained by SeedSpecTrainStepTests until Trainer takes them",
        ["two_output.json"] = "Trainer feeds one input and one target; several inputs/outputs are trained by SeedSpecTrainStepTests until Trainer takes them",
    };

    public static TheoryData<string> Files() => new(Specs.Keys.Order(StringComparer.Ordinal));

    [Fact]
    public void EverySpecFileHasAnEntry()
    {
        var files = Directory.GetFiles(RepoPaths.Specs, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(files, Specs.Keys.Order(StringComparer.Ordinal));
    }

    [SkippableTheory]
    [MemberData(nameof(Files))]
    public void SpecTrainsForAShortFit(string file)
    {
        Skip.If(Specs[file] is not null, Specs[file]);
        var model = KerasModelJson.ReadFile(Path.Combine(RepoPaths.Specs, file));
        var before = model.Weights.Where(w => w.Trainable).ToDictionary(w => w.Path, w => w.Data.ToArray());
        using var trainer = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 2 }, seed: 1);
        trainer.Compile(new Adam { LearningRate = 0.01 }, "mse");
        var history = trainer.Fit(Generated(model, 3), new FitOptions { Epochs = 1, BatchSize = 4, Shuffle = false, Verbose = 0 });
        Assert.All(history["loss"], l => Assert.True(double.IsFinite(l), $"{file}: loss {string.Join(", ", history["loss"])}"));
        var unchanged = model.Weights.Where(w => w.Trainable && before[w.Path].SequenceEqual(w.Data)).Select(w => w.Path).ToList();
        Assert.True(unchanged.Count == 0, $"{file}: weights that did not train: {string.Join(", ", unchanged)}");
    }

    /// <summary>Random inputs of the model's input shape (token ids in [1, 50) for integer inputs, symbolic dims
    /// <paramref name="open"/>) and random targets of its output shape.</summary>
    internal static InMemoryDataset Generated(Model model, int open)
    {
        var rng = new Random(5);
        var input = model.Inputs.Single();
        var inDims = input.Shape.Dims.Skip(1).Select(d => d.IsKnown ? (int)d.Known : open).ToArray();
        var outDims = model.Outputs.Single().Shape.Dims.Skip(1).Select(d => d.IsKnown ? (int)d.Known : open).ToArray();
        var n = Samples * inDims.Aggregate(1, (p, d) => p * d);
        var x = input.DType == DataType.Int64
            ? DataArray.Create(Enumerable.Range(0, n).Select(_ => (long)rng.Next(1, 50)).ToArray(), [Samples, .. inDims])
            : DataArray.Create(Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray(), [Samples, .. inDims]);
        var m = Samples * outDims.Aggregate(1, (p, d) => p * d);
        var y = DataArray.Create(Enumerable.Range(0, m).Select(_ => (float)rng.NextDouble()).ToArray(), [Samples, .. outDims]);
        return new InMemoryDataset(x, y);
    }
}
