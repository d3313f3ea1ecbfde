using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using Onnx;

namespace NeuralService.Graph.Tests.Layers;

/// <summary>Cross-check of the core layers against ONNX's conformance data (Debian's libonnx-testdata,
/// pytorch-converted): Linear → Dense (PyTorch stores [out, in], Keras [in, out]), Embedding, and the activation
/// layers, each reproducing the recorded output within 1e-4.</summary>
public sealed class OnnxConformanceCoreTests
{
    private const string Root = "/usr/share/libonnx-testdata/data/pytorch-converted";

    private static (TensorProto Input, TensorProto Output, Dictionary<string, float[]> Weights, ModelProto Model) Case(string name)
    {
        var dir = Path.Combine(Root, name);
        var model = OnnxModels.Load(Path.Combine(dir, "model.onnx"));
        var input = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "test_data_set_0", "input_0.pb")));
        var output = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "test_data_set_0", "output_0.pb")));
        return (input, output, model.Graph.Initializer.ToDictionary(t => t.Name, Tensors.ToFloats), model);
    }

    /// <summary>Runs <paramref name="layer"/> on the case input (float) and compares with the recorded output.</summary>
    private static void Reproduce(string name, Func<int?[], Layer> make, Action<Layer, Dictionary<string, float[]>>? assign = null)
    {
        var (input, output, weights, _) = Case(name);
        var dims = Tensors.DimsOf(input).Select(d => (int)d).ToArray();
        var x = Graph.Layers.Input.Of(dims[1..].Select(d => (int?)d).ToArray());
        var layer = make(dims.Select(d => (int?)d).ToArray());
        var model = new Functional(x, layer.Apply(x));
        assign?.Invoke(layer, weights);
        var onnx = model.ToOnnx();
        var (y, _) = Ort.Run1(onnx, Tensors.ToFloats(input), dims);
        Reference.AssertClose(Tensors.ToFloats(output), y, 1e-4, name);
    }

    [Theory]
    [InlineData("test_Linear", true)]
    [InlineData("test_Linear_no_bias", false)]
    public void LinearIsDenseWithTheTransposedWeight(string name, bool bias) => Reproduce(name, _ => new Dense(8, useBias: bias), (layer, w) =>
    {
        var torch = w["1"];
        var kernel = new float[torch.Length];
        for (var o = 0; o < 8; o++) for (var i = 0; i < 10; i++) kernel[i * 8 + o] = torch[o * 10 + i];
        layer.Weights[0].Assign(kernel);
        if (bias) layer.Weights[1].Assign(w["2"]);
    });

    [Fact]
    public void EmbeddingLooksUpTheRecordedTable()
    {
        var (input, output, weights, _) = Case("test_Embedding");
        var ids = Tensors.ToLongs(input);
        var x = Graph.Layers.Input.Of([ids.Length], dtype: global::Onnx.TensorProto.Types.DataType.Int64);
        var layer = new Embedding(new EmbeddingConfig { InputDim = 4, OutputDim = 3 });
        var model = new Functional(x, layer.Apply(x));
        layer.Weights[0].Assign(weights["1"]);
        using var session = Ort.Session(model.ToOnnx());
        using var results = session.Run([Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(model.InputNames[0],
            new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(ids, [1, ids.Length]))]);
        Reference.AssertClose(Tensors.ToFloats(output), results.First().AsTensor<float>().ToArray(), 1e-6, "test_Embedding");
    }

    [Theory]
    [InlineData("test_ReLU", "relu")]
    [InlineData("test_Sigmoid", "sigmoid")]
    [InlineData("test_Tanh", "tanh")]
    [InlineData("test_SELU", "selu")]
    [InlineData("test_Softplus", "softplus")]
    [InlineData("test_Softsign", "softsign")]
    [InlineData("test_Softmax", "softmax")]
    [InlineData("test_log_softmax_lastdim", "log_softmax")]
    public void ActivationLayersMatch(string name, string activation) =>
        Reproduce(name, _ => new NeuralService.Graph.Layers.Activation(new ActivationConfig { Activation = activation }));

    [Fact]
    public void EluMatchesTheRecordedAlpha()
    {
        var alpha = Case("test_ELU").Model.Graph.Node[0].GetFloat("alpha", 1f);
        Reproduce("test_ELU", _ => new ELU(new ELUConfig { Alpha = alpha }));
    }

    [Fact]
    public void LeakyReluMatchesPyTorchsSlope()
    {
        var slope = Case("test_LeakyReLU").Model.Graph.Node[0].GetFloat("alpha", 0.01f);
        Reproduce("test_LeakyReLU", _ => new LeakyReLU(new LeakyReLUConfig { NegativeSlope = slope }));
    }
}
