using Google.Protobuf;
using NeuralService.Graph.Onnx;
using NeuralService.Inference.Import;
using NeuralService.Inference.Tests.Support;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Inference.Tests.Import;

public sealed class ModelCheckerTests
{
    private static readonly ImportLimits Limits = new();

    /// <summary><c>y = If(c, then: x·1, else: x)</c>, the branches reading the outer <paramref name="branchInput"/>.</summary>
    private static ModelProto WithIf(string branchInput)
    {
        GraphProto Branch(string name) => new()
        {
            Name = name,
            Node = { new NodeProto { OpType = "Identity", Input = { branchInput }, Output = { name + "_out" } } },
            Output = { OnnxModels.ValueInfo(name + "_out", DataType.Float, NeuralService.Graph.Core.Shape.Of(2)) },
        };
        var graph = new GraphProto
        {
            Name = "if",
            Input =
            {
                OnnxModels.ValueInfo("c", DataType.Bool, NeuralService.Graph.Core.Shape.Scalar),
                OnnxModels.ValueInfo("x", DataType.Float, NeuralService.Graph.Core.Shape.Of(2)),
            },
            Output = { OnnxModels.ValueInfo("y", DataType.Float, NeuralService.Graph.Core.Shape.Of(2)) },
        };
        var node = new NodeProto { OpType = "If", Input = { "c" }, Output = { "y" } };
        node.Attribute.Add(new AttributeProto { Name = "then_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("then") });
        node.Attribute.Add(new AttributeProto { Name = "else_branch", Type = AttributeProto.Types.AttributeType.Graph, G = Branch("else") });
        graph.Node.Add(node);
        return OnnxModels.NewModel(graph);
    }

    [Fact]
    public void Subgraphs_may_read_outer_values()
    {
        ModelChecker.Check(WithIf("x"), Limits);
        new OnnxImporter().FromBytes(WithIf("x").Bytes());
    }

    [Fact]
    public void Subgraph_reading_an_undefined_value_is_refused()
    {
        var e = Assert.Throws<InvalidModelException>(() => ModelChecker.Check(WithIf("nowhere"), Limits));
        Assert.Contains("subgraph 'then_branch'", e.Message);
        Assert.Contains("'nowhere'", e.Message);
    }

    [Fact]
    public void Initializer_whose_raw_data_does_not_fill_its_shape_is_refused()
    {
        var model = TestModels.Large(4, 1f);
        model.Graph.Initializer[0].RawData = ByteString.CopyFrom(new byte[12]);
        var e = Assert.Throws<InvalidModelException>(() => ModelChecker.Check(model, Limits));
        Assert.Contains("holds 12 bytes of raw data, its shape needs 16", e.Message);
    }

    [Fact]
    public void Output_that_nothing_computes_is_refused()
    {
        var model = TestModels.Affine();
        model.Graph.Output[0].Name = "phantom";
        Assert.Contains("output 'phantom' is never computed", Assert.Throws<InvalidModelException>(() => ModelChecker.Check(model, Limits)).Message);
    }

    [Fact]
    public void Graph_without_default_opset_import_is_refused()
    {
        var model = TestModels.Affine();
        model.OpsetImport.Clear();
        Assert.Contains("imports no default-domain opset", Assert.Throws<InvalidModelException>(() => ModelChecker.Check(model, Limits)).Message);
    }
}
