using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Autodiff;
using NeuralService.Graph.Tests.Support;
using Onnx;

namespace NeuralService.Graph.Tests.Core;

/// <summary>Opset-6 models imported and upgraded to opset 17 pass the checker and still compute their recorded outputs.</summary>
public sealed class ModelImportTests
{
    [Theory]
    [InlineData("pytorch-converted/test_BatchNorm2d_eval")]
    [InlineData("pytorch-converted/test_AvgPool1d")]
    [InlineData("pytorch-converted/test_ConstantPad2d")]
    [InlineData("pytorch-converted/test_GLU")]
    [InlineData("pytorch-converted/test_log_softmax_dim3")]
    [InlineData("pytorch-converted/test_Softmax")]
    [InlineData("pytorch-converted/test_PReLU_2d_multiparam")]
    [InlineData("pytorch-operator/test_operator_index")]
    [InlineData("pytorch-operator/test_operator_clip")]
    [InlineData("pytorch-operator/test_operator_chunk")]
    [InlineData("pytorch-operator/test_operator_reduced_sum")]
    public void UpgradedModelReproducesRecordedOutputs(string dir)
    {
        var full = Path.Combine("/usr/share/libonnx-testdata/data", dir);
        var (model, inputs) = GradCheckTests.Load(full);
        var upgraded = GraphBuilder.FromModel(model).ToModel();
        Assert.Equal(17, upgraded.OpsetImport.Single().Version);
        OnnxChecker.Check(upgraded);
        var feeds = inputs.Select(kv => (kv.Key, Tensors.ToFloats(kv.Value), kv.Value.Dims.Select(d => (int)d).ToArray())).ToArray();
        var outputs = Ort.Run(upgraded, feeds);
        for (var i = 0; i < model.Graph.Output.Count; i++)
        {
            var expected = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(full, "test_data_set_0", $"output_{i}.pb")));
            Reference.AssertClose(Tensors.ToFloats(expected), outputs[model.Graph.Output[i].Name].Data, 1e-4, model.Graph.Output[i].Name);
        }
    }

    [Fact]
    public void UnknownDomainsAreRejected()
    {
        var model = OnnxModels.NewModel(new GraphProto());
        model.Graph.Input.Add(OnnxModels.ValueInfo("x", TensorProto.Types.DataType.Float, Shape.Of(2)));
        model.Graph.Node.Add(new NodeProto { OpType = "Gelu", Domain = "com.microsoft", Name = "gelu", Input = { "x" }, Output = { "y" } });
        var e = Assert.Throws<GraphException>(() => GraphBuilder.FromModel(model));
        Assert.Contains("com.microsoft", e.Message);
    }
}
