using Google.Protobuf;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Inference.Tests.Support;

/// <summary>Small models for registry and engine tests.</summary>
public static class TestModels
{
    /// <summary><c>y = 2·x + 1</c> on <c>x: float[batch, features]</c>: each row's result depends only on that row.</summary>
    public static ModelProto Affine(int features = 3, string batch = "batch", IReadOnlyDictionary<string, string>? metadata = null)
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Sym(batch), Dim.Of(features)));
        var y = g.Node1("Add", [g.Node1("Mul", [x, g.Constant(2f, "two")]), g.Constant(1f, "one")]);
        g.AddOutput(y, "y");
        return g.ToModel(metadata: metadata);
    }

    /// <summary><c>y = x + 1</c> with a fixed batch of one: <c>x: float[1, features]</c>.</summary>
    public static ModelProto FixedBatchOne(int features = 3)
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(1, features));
        g.AddOutput(g.Node1("Add", [x, g.Constant(1f, "one")]), "y");
        return g.ToModel();
    }

    /// <summary><c>y = x + w</c> with a large initializer <c>w</c>, so writing the file takes a while.</summary>
    public static ModelProto Large(int floats, float fill)
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(floats));
        var w = g.AddInitializer(Tensors.Create("w", Enumerable.Repeat(fill, floats).ToArray(), floats));
        g.AddOutput(g.Node1("Add", [x, w]), "y");
        return g.ToModel();
    }

    /// <summary>A hand-made Identity model on one element type (the graph builder does not need to know the type).</summary>
    public static ModelProto Identity(DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d is string s ? new TensorShapeProto.Types.Dimension { DimParam = s } : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d) });
        ValueInfoProto Info(string name) => new()
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape.Clone() } },
        };
        var graph = new GraphProto { Name = "identity" };
        graph.Input.Add(Info("x"));
        graph.Output.Add(Info("y"));
        graph.Node.Add(new NodeProto { OpType = "Identity", Input = { "x" }, Output = { "y" } });
        return OnnxModels.NewModel(graph);
    }

    public static byte[] Bytes(this ModelProto model) => model.ToByteArray();
}
