using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Api.Kserve;

/// <summary>The Open Inference Protocol's datatype names (<c>FP32</c>, <c>INT64</c>, <c>BYTES</c>…) and ours.</summary>
public static class KserveTypes
{
    private static readonly (string Kserve, DataType Onnx)[] Table =
    [
        ("BOOL", DataType.Bool), ("UINT8", DataType.Uint8), ("UINT16", DataType.Uint16), ("UINT32", DataType.Uint32),
        ("UINT64", DataType.Uint64), ("INT8", DataType.Int8), ("INT16", DataType.Int16), ("INT32", DataType.Int32),
        ("INT64", DataType.Int64), ("FP16", DataType.Float16), ("BF16", DataType.Bfloat16), ("FP32", DataType.Float),
        ("FP64", DataType.Double), ("BYTES", DataType.String),
    ];

    public static string FromOnnx(DataType t) =>
        Table.FirstOrDefault(e => e.Onnx == t).Kserve ?? t.ToString().ToUpperInvariant();

    /// <summary>From a registry element type name (<c>float32</c>).</summary>
    public static string FromElementName(string name)
    {
        try { return FromOnnx(NeuralService.Graph.Onnx.DataTypes.FromName(name)); }
        catch (NotSupportedException) { return name.ToUpperInvariant(); }
    }

    public static DataType? ToOnnx(string kserve) =>
        Table.Where(e => e.Kserve == kserve).Select(e => (DataType?)e.Onnx).FirstOrDefault();

    public static IReadOnlyList<string> Names => Table.Select(e => e.Kserve).ToList();
}
