using Google.Protobuf;
using Onnx;

namespace NeuralService.Graph.Onnx;

/// <summary>Reads and writes ONNX model files.</summary>
public static class OnnxModels
{
    public const long IrVersion = 8;
    public const long Opset = 17;
    /// <summary>Protobuf's own hard limit for one message.</summary>
    public const long MaxModelBytes = int.MaxValue;

    public static ModelProto Parse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return ModelProto.Parser.ParseFrom(bytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new InvalidDataException($"not an ONNX model: {e.Message}", e);
        }
    }

    public static ModelProto Load(string path, long maxBytes = MaxModelBytes)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new FileNotFoundException($"no ONNX file at '{path}'", path);
        if (info.Length > maxBytes)
            throw new InvalidDataException($"'{path}' is {info.Length} bytes, over the {maxBytes}-byte limit");
        return Parse(File.ReadAllBytes(path));
    }

    /// <summary>Writes the model to a temporary file beside <paramref name="path"/> and renames it into place.</summary>
    public static void Save(ModelProto model, string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = full + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var stream = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                model.WriteTo(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp)) File.Delete(tmp);
        }
    }

    /// <summary>An empty model shell for our opset and IR version.</summary>
    public static ModelProto NewModel(GraphProto graph, string producerVersion = "0.1.0")
    {
        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "NeuralService",
            ProducerVersion = producerVersion,
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return model;
    }

    public static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, Core.Shape shape)
    {
        var tensorShape = new TensorShapeProto();
        foreach (var d in shape.Dims)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            if (d.Value is { } v) dim.DimValue = v;
            else if (d.Symbol is { } s) dim.DimParam = s;
            tensorShape.Dim.Add(dim);
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = tensorShape } },
        };
    }

    /// <summary>The tensor type a value info declares; dims without value or name are unknown.</summary>
    public static Core.TensorType? TypeOf(ValueInfoProto info)
    {
        if (info.Type?.TensorType is not { } t) return null;
        var shape = t.Shape is null
            ? null
            : new Core.Shape(t.Shape.Dim.Select(d => d.ValueCase switch
            {
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => Core.Dim.Of(d.DimValue),
                TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => Core.Dim.Sym(d.DimParam),
                _ => Core.Dim.Unknown,
            }));
        return new Core.TensorType((TensorProto.Types.DataType)t.ElemType, shape ?? Core.Shape.Scalar);
    }
}
