using NeuralService.Graph.Keras;
using NeuralService.Graph.Tests.Support;
using Onnx;

namespace NeuralService.Graph.Tests.Specs;

/// <summary>Every architecture of the seed, as a Keras JSON file under onnx-models/specs, imports with Keras's
/// parameter count, exports a valid ONNX graph with a dynamic batch, runs, and round-trips through our writer.</summary>
public sealed class SeedSpecsTests
{
    [Theory]
    [InlineData("mlp.json", 52_650)]
    [InlineData("two_input.json", 833)]
    [InlineData("two_output.json", 4_875)]
    [InlineData("mnist_cnn.json", 93_322)]
    [InlineData("imdb_lstm.json", 1_329_473)]
    [InlineData("stock_lstm.json", 30_651)]
    [InlineData("resnet_head.json", 269_834)]
    [InlineData("gru.json", 4_065)]
    [InlineData("bidirectional.json", 345_027)]
    [InlineData("conv_autoencoder.json", 3_217)]
    public void SpecImportsExportsAndRuns(string file, long parameters)
    {
        var model = KerasModelJson.ReadFile(Path.Combine(RepoPaths.Specs, file));
        Assert.Equal(parameters, model.CountParams());
        Assert.EndsWith($"Total params: {parameters}", model.Summary());
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        RunWithRandomInputs(onnx, batch: 2);
        var again = KerasModelJson.Read(KerasModelJson.Write(model));
        Assert.Equal(parameters, again.CountParams());
    }

    /// <summary>Feeds random floats (or small token ids for integer inputs) with the batch dim set, and checks every output's batch.</summary>
    internal static void RunWithRandomInputs(ModelProto onnx, int batch)
    {
        using var session = Ort.Session(onnx);
        var feeds = new List<Microsoft.ML.OnnxRuntime.NamedOnnxValue>();
        var rng = new Random(7);
        foreach (var (name, meta) in session.InputMetadata)
        {
            var dims = meta.Dimensions.Select((d, i) => d < 0 ? (i == 0 ? batch : 3) : d).ToArray();
            var n = dims.Aggregate(1, (a, d) => a * d);
            feeds.Add(meta.ElementDataType == Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Int64
                ? Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(name, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(Enumerable.Range(0, n).Select(_ => (long)rng.Next(1, 50)).ToArray(), dims))
                : Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(name, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray(), dims)));
        }
        using var results = session.Run(feeds);
        foreach (var r in results)
        {
            var t = r.AsTensor<float>();
            Assert.Equal(batch, t.Dimensions[0]);
            Assert.All(t.ToArray(), v => Assert.True(float.IsFinite(v), $"{r.Name} has a non-finite value"));
        }
    }
}
