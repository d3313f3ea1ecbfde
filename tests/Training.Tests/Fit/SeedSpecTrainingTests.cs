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

    /// <summary>Every spec file; a new one must be added here (<see cref="EverySpecFileHasAnEntry"/>).</summary>
    private static readonly string[] Specs =
    [
        "mlp.json",
        "mnist_cnn.json",
        "imdb_lstm.json",
        "stock_lstm.json",
        "resnet_head.json",
        "gru.json",
        "bidirectional.json",
        "conv_autoencoder.json",
        "ssm_classifier.json",
        "transformer_classifier.json",
        "two_input.json",
        "two_output.json",
    ];

    public static TheoryData<string> Files() => new(Specs.Order(StringComparer.Ordinal));

    [Fact]
    public void EverySpecFileHasAnEntry()
    {
        var files = Directory.GetFiles(RepoPaths.Specs, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(files, Specs.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void SpecTrainsForAShortFit(string file)
    {
        var model = KerasModelJson.ReadFile(Path.Combine(RepoPaths.Specs, file));
        var before = model.Weights.Where(w => w.Trainable).ToDictionary(w => w.Path, w => w.Data.ToArray());
        using var trainer = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 2 }, seed: 1);
        trainer.Compile(new Adam { LearningRate = 0.01 }, "mse");
        var history = trainer.Fit(Generated(model, 3), new FitOptions { Epochs = 1, BatchSize = 4, Shuffle = false, Verbose = 0 });
        Assert.All(history["loss"], l => Assert.True(double.IsFinite(l), $"{file}: loss {string.Join(", ", history["loss"])}"));
        var unchanged = model.Weights.Where(w => w.Trainable && before[w.Path].SequenceEqual(w.Data)).Select(w => w.Path).ToList();
        Assert.True(unchanged.Count == 0, $"{file}: weights that did not train: {string.Join(", ", unchanged)}");
    }

    /// <summary>Random inputs of each model input's shape (token ids in [1, 50) for integer inputs, symbolic dims
    /// <paramref name="open"/>) and random targets of each output's shape, matched by order.</summary>
    internal static InMemoryDataset Generated(Model model, int open)
    {
        var rng = new Random(5);
        int[] Dims(Graph.Core.Shape shape) => shape.Dims.Skip(1).Select(d => d.IsKnown ? (int)d.Known : open).ToArray();
        DataArray Random(int[] dims, bool integer)
        {
            var n = Samples * dims.Aggregate(1, (p, d) => p * d);
            return integer
                ? DataArray.Create(Enumerable.Range(0, n).Select(_ => (long)rng.Next(1, 50)).ToArray(), [Samples, .. dims])
                : DataArray.Create(Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray(), [Samples, .. dims]);
        }
        var inputs = model.Inputs.Select(i => Random(Dims(i.Shape), i.DType == DataType.Int64)).ToArray();
        var targets = model.Outputs.Select(o => Random(Dims(o.Shape), false)).ToArray();
        return new InMemoryDataset(DataArrays.Of(inputs), DataArrays.Of(targets));
    }
}
