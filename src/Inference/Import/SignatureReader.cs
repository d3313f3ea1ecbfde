using NeuralService.Graph.Onnx;
using NeuralService.Inference.Registry;
using Onnx;

namespace NeuralService.Inference.Import;

/// <summary>Reads a model's input/output signature, opset and metadata_props.</summary>
public static class SignatureReader
{
    public static Signature Read(ModelProto model)
    {
        var initializers = model.Graph.Initializer.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        // Before IR 4 initializers were also listed as inputs; they are not something a caller feeds.
        return new Signature(
            model.Graph.Input.Where(i => !initializers.Contains(i.Name)).Select(Spec).ToList(),
            model.Graph.Output.Select(Spec).ToList());
    }

    public static TensorSpec Spec(ValueInfoProto info)
    {
        if (info.Type?.ValueCase != TypeProto.ValueOneofCase.TensorType)
            return new TensorSpec(info.Name, Describe(info.Type), null);
        var t = info.Type.TensorType;
        var shape = t.Shape?.Dim.Select(d => d.ValueCase switch
        {
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue => DimSpec.Of(d.DimValue),
            TensorShapeProto.Types.Dimension.ValueOneofCase.DimParam => DimSpec.Sym(d.DimParam),
            _ => DimSpec.Unknown,
        }).ToList();
        return new TensorSpec(info.Name, DataTypes.ToName((TensorProto.Types.DataType)t.ElemType), shape);
    }

    /// <summary>Non-tensor types get a descriptive name (<c>seq(float32)</c>), which the engine refuses to feed.</summary>
    private static string Describe(TypeProto? t) => t?.ValueCase switch
    {
        TypeProto.ValueOneofCase.SequenceType => $"seq({Describe(t.SequenceType.ElemType)})",
        TypeProto.ValueOneofCase.OptionalType => $"optional({Describe(t.OptionalType.ElemType)})",
        TypeProto.ValueOneofCase.MapType => $"map({DataTypes.ToName((TensorProto.Types.DataType)t.MapType.KeyType)},{Describe(t.MapType.ValueType)})",
        TypeProto.ValueOneofCase.SparseTensorType => $"sparse({DataTypes.ToName((TensorProto.Types.DataType)t.SparseTensorType.ElemType)})",
        TypeProto.ValueOneofCase.TensorType => DataTypes.ToName((TensorProto.Types.DataType)t.TensorType.ElemType),
        _ => "unknown",
    };

    public static long DefaultOpset(ModelProto model) =>
        model.OpsetImport.Where(o => o.Domain is "" or "ai.onnx").Select(o => o.Version).DefaultIfEmpty(0).Max();

    public static IReadOnlyDictionary<string, string> Metadata(ModelProto model)
    {
        var d = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in model.MetadataProps) d[p.Key] = p.Value;
        return d;
    }
}
