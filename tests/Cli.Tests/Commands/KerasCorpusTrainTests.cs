using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;
using NeuralService.Training.Data;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Cli.Tests.Commands;

/// <summary>Every configuration of the Keras corpus trains through <c>neural train</c>: random data of the model's
/// input and output shapes (open dims 7, token ids for Embedding inputs) written as NPZ (x/y, or x0,x1…/y0,y1… for
/// several inputs/outputs), one epoch with mse on 10 samples in batches of 4 (a partial last one) exits 0 with a finite loss;
/// then on one fixed batch the loss falls over a few epochs.</summary>
public sealed class KerasCorpusTrainTests : IDisposable
{
    private const int OpenDim = 7;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-corpus-train");
    public void Dispose() => _dir.Delete(recursive: true);

    public static TheoryData<string> Files() => new(RepoPaths.KerasCorpusFiles().Select(Path.GetFileName)!);

    [Theory]
    [MemberData(nameof(Files))]
    public void CorpusModelTrainsThroughTheCli(string file)
    {
        var config = RepoPaths.KerasCorpusFile(file);
        var model = KerasModelJson.ReadFile(config);
        // A fixed batch dim (027) sets the batch; 896² and 224² images (022, 025) train on 2 samples one at a time.
        var fixedBatch = model.Inputs.Select(i => i.Shape[0]).FirstOrDefault(d => d.IsKnown) is { IsKnown: true } d ? (int)d.Known : (int?)null;
        var large = model.Inputs.Any(i => i.Shape.Dims.Skip(1).Aggregate(1L, (p, x) => p * (x.IsKnown ? x.Known : OpenDim)) > 100_000);
        var batch = fixedBatch ?? (large ? 1 : 4);
        var samples = fixedBatch ?? (large ? 2 : 10);

        var (exit, err, loss) = Train(config, Write(model, samples, "data.npz"), batch, epochs: 1, "one");
        Assert.True(exit == 0, $"{file}: {err}");
        Assert.Single(loss);
        Assert.True(double.IsFinite(loss[0]), $"{file}: loss {loss[0]}");

        var (exit2, err2, losses) = Train(config, Write(model, batch, "batch.npz"), batch, epochs: 3, "fixed");
        Assert.True(exit2 == 0, $"{file}: {err2}");
        Assert.All(losses, l => Assert.True(double.IsFinite(l), $"{file}: loss {string.Join(", ", losses)}"));
        Assert.True(losses[^1] < losses[0], $"{file}: loss on a fixed batch did not fall: {string.Join(" → ", losses)}");
    }

    private (int Exit, string Err, List<double> Loss) Train(string config, string data, int batch, int epochs, string run)
    {
        var output = Path.Combine(_dir.FullName, run);
        var (exit, _, err) = CliRunner.Run("train", config, "--data", data, "--loss", "mse", "--batch-size", batch.ToString(),
            "--epochs", epochs.ToString(), "--device", "cpu", "--seed", "1", "--out", output);
        if (exit != 0) return (exit, err, []);
        var history = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "history.json"))).RootElement.GetProperty("history");
        return (exit, err, history.GetProperty("loss").EnumerateArray().Select(e => e.GetDouble()).ToList());
    }

    /// <summary>Random inputs (token ids below every Embedding's input_dim for the [batch, length] inputs of models with
    /// an Embedding) and random targets of the shapes the exported model gives on them.</summary>
    private string Write(Model model, int samples, string name)
    {
        var rng = new Random(samples);
        var vocabulary = Embeddings(model).Select(e => ((EmbeddingConfig)e.Config).InputDim).DefaultIfEmpty(0).Min();
        var inputs = model.Inputs.Select(i =>
        {
            var dims = new[] { samples }.Concat(i.Shape.Dims.Skip(1).Select(x => x.IsKnown ? (int)x.Known : OpenDim)).ToArray();
            var n = dims.Aggregate(1, (p, x) => p * x);
            var ids = vocabulary > 0 && i.Shape.Rank == 2;
            if (i.DType == DataType.Int64) return DataArray.Create(Enumerable.Range(0, n).Select(_ => (long)rng.Next(Math.Min(vocabulary, 50))).ToArray(), dims);
            return DataArray.Create(Enumerable.Range(0, n).Select(_ => ids ? rng.Next(Math.Min(vocabulary, 50)) : (float)rng.NextDouble()).ToArray(), dims);
        }).ToList();
        var outputs = OutputShapes(model, inputs).Select(dims =>
            DataArray.Create(Enumerable.Range(0, dims.Aggregate(1, (p, x) => p * x)).Select(_ => (float)rng.NextDouble()).ToArray(), dims)).ToList();
        var arrays = new Dictionary<string, DataArray>();
        for (var k = 0; k < inputs.Count; k++) arrays[inputs.Count == 1 ? "x" : $"x{k}"] = inputs[k];
        for (var k = 0; k < outputs.Count; k++) arrays[outputs.Count == 1 ? "y" : $"y{k}"] = outputs[k];
        var path = Path.Combine(_dir.FullName, name);
        Npz.Write(path, arrays);
        return path;
    }

    private static IEnumerable<Embedding> Embeddings(Layer layer) => layer switch
    {
        Embedding e => [e],
        Model m => m.Layers.SelectMany(Embeddings),
        _ => [],
    };

    /// <summary>The model's output dims on these inputs, from running its inference export.</summary>
    private static List<int[]> OutputShapes(Model model, List<DataArray> inputs)
    {
        using var session = Ort.Session(model.ToOnnx());
        var names = session.InputMetadata.Keys.ToList();
        var feeds = names.Select((n, k) => session.InputMetadata[n].ElementDataType == TensorElementType.Int64
            ? NamedOnnxValue.CreateFromTensor(n, new DenseTensor<long>(inputs[k].ToInt64(), Dims(inputs[k])))
            : NamedOnnxValue.CreateFromTensor(n, new DenseTensor<float>(inputs[k].ToFloat32(), Dims(inputs[k])))).ToList();
        using var results = session.Run(feeds);
        return session.OutputNames.Select(o => results.First(r => r.Name == o).AsTensor<float>().Dimensions.ToArray()).ToList();
    }

    private static int[] Dims(DataArray a) => [a.Count, .. a.SampleShape];
}
