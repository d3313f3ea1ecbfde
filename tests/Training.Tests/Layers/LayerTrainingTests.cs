using System.Text.Json.Nodes;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Training.Tests.Layers;

/// <summary>Every registered Keras layer class trains: in a small model (<see cref="LayerTrainingTable"/>) fitted with
/// <see cref="Trainer.Fit(InMemoryDataset, FitOptions?)"/> on 10 generated samples in batches of 4 (the last batch
/// partial), the loss is finite and falls, the layer's own trainable weights change, and the gradient crosses the
/// layer to the Dense before it.</summary>
public sealed class LayerTrainingTests
{
    private const int Samples = 10;
    private const int BatchSize = 4;
    private const int Epochs = 5;

    public static TheoryData<string> Classes() => new(LayerTrainingTable.Rows.Select(r => r.ClassName));

    [Fact]
    public void EveryRegisteredLayerClassHasARow()
    {
        // InputLayer starts every model of the table.
        var registered = LayerRegistry.All.Select(e => e.ClassName).Where(c => c != "InputLayer").Order().ToList();
        var rows = LayerTrainingTable.Rows.Select(r => r.ClassName).ToList();
        Assert.Equal(rows.Count, rows.Distinct().Count());
        Assert.Empty(registered.Except(rows));
        Assert.Empty(rows.Except(registered));
    }

    [Fact]
    public void EveryConcreteLayerClassIsRegistered()
    {
        // ImportedBlock wraps a cut of an ONNX model, not a Keras class: there is no Keras config to register it under.
        var layers = typeof(Layer).Assembly.GetTypes()
            .Where(t => t is { IsAbstract: false, IsPublic: true } && t.IsSubclassOf(typeof(Layer)) && !t.IsSubclassOf(typeof(Model)) && t != typeof(ImportedBlock))
            .Select(t => t.Name).ToList();
        Assert.NotEmpty(layers);
        var missing = layers.Where(n => LayerRegistry.Find(n) is null).ToList();
        Assert.True(missing.Count == 0, $"layer classes missing from the registry: {string.Join(", ", missing)}");
    }

    [SkippableTheory]
    [MemberData(nameof(Classes))]
    public void LayerTrainsInASmallModel(string className)
    {
        var row = LayerTrainingTable.Rows.Single(r => r.ClassName == className);
        Skip.If(row.Skip is not null, row.Skip);
        var (model, layer, upstream) = Build(row);
        var own = layer.TrainableWeights.ToDictionary(w => w.Path, w => w.Data.ToArray());
        var pre = upstream.SelectMany(l => l.TrainableWeights).ToDictionary(w => w.Path, w => w.Data.ToArray());

        using var trainer = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 1 }, seed: 1);
        trainer.Compile(new Adam { LearningRate = 0.02 }, "mse");
        var history = trainer.Fit(Data(row), new FitOptions { Epochs = Epochs, BatchSize = BatchSize, Shuffle = false, Verbose = 0 });

        var loss = history["loss"];
        Assert.Equal(Epochs, loss.Count);
        Assert.All(loss, l => Assert.True(double.IsFinite(l), $"{className}: loss {string.Join(", ", loss)}"));
        Assert.True(loss[^1] < loss[0], $"{className}: loss did not fall: {string.Join(", ", loss)}");
        foreach (var w in layer.TrainableWeights)
            Assert.False(own[w.Path].SequenceEqual(w.Data), $"{className}: its weight {w} did not change");
        if (row.ReachesInput)
            foreach (var w in upstream.SelectMany(l => l.TrainableWeights))
                Assert.False(pre[w.Path].SequenceEqual(w.Data), $"{className}: no gradient crossed the layer to {w}");
    }

    /// <summary>The layer created from its Keras config through the registry, inside input → … → Dense(1).</summary>
    internal static (Model Model, Layer Layer, IReadOnlyList<Layer> Upstream) Build(LayerRow row)
    {
        var entry = LayerRegistry.Find(row.ClassName) ?? throw new InvalidOperationException($"{row.ClassName} is not registered");
        var config = JsonNode.Parse(row.Config)!.AsObject();
        config["name"] = "under_test";
        var layer = entry.Create(KerasJson.ReadConfig(config, entry.ConfigType));
        var input = Input.Of(row.Input.Select(d => (int?)d).ToArray(), "x", row.IntegerInput ? DataType.Int64 : DataType.Float,
            null);
        var channels = row.Input[^1];
        var upstream = new List<Layer>();
        KerasTensor Pre(string name, KerasTensor x)
        {
            var dense = new Dense(channels, "tanh", name: name);
            upstream.Add(dense);
            return dense.Apply(x);
        }
        var h = row.How switch
        {
            Arrangement.OnInput => layer.Apply(input),
            Arrangement.AfterDense => layer.Apply(Pre("pre", input)),
            Arrangement.Merge => layer.Apply(Pre("pre_a", input), Pre("pre_b", input)),
            Arrangement.SelfAttention => Pre("pre", input) is var t ? layer.Apply(t, t) : throw new InvalidOperationException(),
            _ => throw new ArgumentOutOfRangeException(nameof(row)),
        };
        if (h.Shape.Rank > 2) h = new Flatten(name: "head_flatten").Apply(h);
        var y = new Dense(1, name: "head").Apply(h);
        return (new Functional(input, y, "train_" + row.ClassName.ToLowerInvariant()), layer, upstream);
    }

    /// <summary>Fixed generated samples (token ids in [0, 10) for integer inputs) and a target that depends on them.</summary>
    internal static InMemoryDataset Data(LayerRow row)
    {
        var rng = new Random(11);
        const int samples = Samples;
        var size = row.Input.Aggregate(1, (p, d) => p * d);
        var values = Enumerable.Range(0, samples * size).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
        var y = Enumerable.Range(0, samples).Select(i => (float)(1 + 0.5 * Math.Tanh(values.Skip(i * size).Take(size).Sum()))).ToArray();
        var x = row.IntegerInput
            ? DataArray.Create(values.Select(v => (long)((v + 1) * 5) % 10).ToArray(), [samples, .. row.Input])
            : DataArray.Create(values.Select(v => (float)v).ToArray(), [samples, .. row.Input]);
        return new InMemoryDataset(x, DataArray.Create(y, samples, 1));
    }
}
