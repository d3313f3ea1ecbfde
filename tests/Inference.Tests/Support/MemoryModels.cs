using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Inference.Tests.Support;

/// <summary>Tiny files that ask for a lot of memory, as an attacker would write them by hand.</summary>
public static class MemoryModels
{
    /// <summary><c>y = x + ConstantOfShape(dims)</c> on <c>x: float[1]</c>: a file of a couple of hundred bytes whose
    /// session holds <c>dims</c> floats. With <paramref name="hidden"/> the shape passes through an <c>Abs</c>, which
    /// the static estimate does not follow, so only the measurement at load sees the size.</summary>
    public static ModelProto ConstantOfShape(long[] dims, bool hidden = false)
    {
        var graph = new GraphProto { Name = "big" };
        var shape = new TensorProto { Name = "s", DataType = (int)DataType.Int64, Dims = { dims.Length } };
        shape.Int64Data.Add(dims);
        graph.Initializer.Add(shape);
        graph.Input.Add(Info("x", [1]));
        var shapeName = "s";
        if (hidden)
        {
            graph.Node.Add(new NodeProto { OpType = "Abs", Input = { "s" }, Output = { "s_abs" } });
            shapeName = "s_abs";
        }
        graph.Node.Add(new NodeProto { OpType = "ConstantOfShape", Input = { shapeName }, Output = { "c" } });
        graph.Node.Add(new NodeProto { OpType = "Add", Input = { "x", "c" }, Output = { "y" } });
        graph.Output.Add(Info("y", null));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    private static ValueInfoProto Info(string name, long[]? dims)
    {
        var tensor = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float };
        if (dims is not null)
        {
            tensor.Shape = new TensorShapeProto();
            foreach (var d in dims) tensor.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensor } };
    }
}
