using NeuralService.Inference.Import;
using NeuralService.Inference.Tests.Support;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Inference.Tests.Import;

public sealed class ConstantMemoryTests
{
    private static TensorProto Ints(string name, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)DataType.Int64, Dims = { values.Length } };
        t.Int64Data.Add(values);
        return t;
    }

    private static ModelProto Graph(IEnumerable<TensorProto> initializers, params NodeProto[] nodes)
    {
        var graph = new GraphProto { Name = "g" };
        graph.Initializer.Add(initializers);
        graph.Node.Add(nodes);
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    [Fact]
    public void A_tiny_ConstantOfShape_model_is_refused_at_import_naming_the_figure_and_the_node()
    {
        var model = MemoryModels.ConstantOfShape([32768, 32768]);
        var bytes = model.Bytes();
        Assert.True(bytes.Length < 200, $"{bytes.Length} bytes");
        Assert.Equal(4294967296d + 16, ConstantMemory.Of(model).Bytes);

        var importer = new OnnxImporter(new ImportLimits { MaxModelMemoryBytes = 1L << 30 });
        var e = Assert.Throws<ModelMemoryException>(() => importer.FromBytes(bytes));
        Assert.Contains("4294967312 bytes", e.Message);
        Assert.Contains("1073741824-byte model memory budget", e.Message);
        Assert.Contains("ConstantOfShape", e.Message);
        Assert.Contains("[32768, 32768]", e.Message);
        Assert.Equal(ErrorKind.Invalid, e.Kind);
        // Without a budget the same file imports (ONNX Runtime does not fold constants at the import check).
        new OnnxImporter().FromBytes(bytes);
    }

    [Fact]
    public void Initializers_count_by_their_shape_and_type()
    {
        var model = TestModels.Large(1000, 1f);
        Assert.Equal(4000, ConstantMemory.Of(model).Bytes);
        var e = Assert.Throws<ModelMemoryException>(() => new OnnxImporter(new ImportLimits { MaxModelMemoryBytes = 3999 }).FromBytes(model.Bytes()));
        Assert.Contains("initializer 'w'", e.Message);
        new OnnxImporter(new ImportLimits { MaxModelMemoryBytes = 4000 }).FromBytes(model.Bytes());
    }

    [Fact]
    public void Expand_Tile_and_Range_with_constant_shapes_are_counted()
    {
        var one = new TensorProto { Name = "one", DataType = (int)DataType.Float, Dims = { 1 }, FloatData = { 1f } };
        var model = Graph([one, Ints("shape", 1000, 1000), Ints("reps", 10), Ints("start", 0), Ints("limit", 1_000_000), Ints("delta", 1)],
            new NodeProto { OpType = "Expand", Input = { "one", "shape" }, Output = { "e" } },                     // 4 MB
            new NodeProto { OpType = "Tile", Input = { "one", "reps" }, Output = { "t" } },                         // 40 bytes
            new NodeProto { OpType = "Squeeze", Input = { "start" }, Output = { "s0" } },
            new NodeProto { OpType = "Squeeze", Input = { "limit" }, Output = { "l0" } },
            new NodeProto { OpType = "Squeeze", Input = { "delta" }, Output = { "d0" } },
            new NodeProto { OpType = "Range", Input = { "s0", "l0", "d0" }, Output = { "r" } });                   // 8 MB of int64
        var estimate = ConstantMemory.Of(model);
        var initializers = 4 + 16 + 8 + 8 + 8 + 8;
        Assert.Equal(initializers + 4_000_000 + 40 + 1_000_000 * 8, estimate.Bytes);
        Assert.Contains("Range", estimate.Largest);
    }

    [Fact]
    public void Shape_arithmetic_on_constants_is_followed()
    {
        // ConstantOfShape(Concat(a, b * 1024)): the shape is computed, but from constants only.
        var model = Graph([Ints("a", 4096), Ints("b", 4), Ints("k", 1024)],
            new NodeProto { OpType = "Mul", Input = { "b", "k" }, Output = { "bk" } },
            new NodeProto { OpType = "Concat", Input = { "a", "bk" }, Output = { "shape" }, Attribute = { new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = 0 } } },
            new NodeProto { OpType = "ConstantOfShape", Input = { "shape" }, Output = { "c" } });
        Assert.Equal(24 + 4096 * 4096 * 4, ConstantMemory.Of(model).Bytes);
    }

    [Fact]
    public void Shapes_from_runtime_inputs_are_not_guessed()
    {
        var model = Graph([]);
        model.Graph.Input.Add(new ValueInfoProto { Name = "shape", Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Int64 } } });
        model.Graph.Node.Add(new NodeProto { OpType = "ConstantOfShape", Input = { "shape" }, Output = { "c" } });
        Assert.Equal(0, ConstantMemory.Of(model).Bytes);
    }
}
