using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Onnx;

/// <summary>Facts about ONNX element types.</summary>
public static class DataTypes
{
    /// <summary>Size in bytes of one element in <c>raw_data</c>; 0 for strings.</summary>
    public static int ByteSize(DataType t) => t switch
    {
        DataType.Float or DataType.Int32 or DataType.Uint32 => 4,
        DataType.Double or DataType.Int64 or DataType.Uint64 or DataType.Complex64 => 8,
        DataType.Complex128 => 16,
        DataType.Float16 or DataType.Bfloat16 or DataType.Int16 or DataType.Uint16 => 2,
        DataType.Int8 or DataType.Uint8 or DataType.Bool => 1,
        DataType.String => 0,
        _ => throw new NotSupportedException($"element type {t} is not supported"),
    };

    public static bool IsFloat(DataType t) =>
        t is DataType.Float or DataType.Double or DataType.Float16 or DataType.Bfloat16;

    public static bool IsInteger(DataType t) => t is DataType.Int8 or DataType.Int16 or DataType.Int32 or DataType.Int64
        or DataType.Uint8 or DataType.Uint16 or DataType.Uint32 or DataType.Uint64;

    /// <summary>Keras / NumPy dtype names.</summary>
    public static DataType FromName(string name) => name switch
    {
        "float32" or "float" => DataType.Float,
        "float64" or "double" => DataType.Double,
        "float16" or "half" => DataType.Float16,
        "bfloat16" => DataType.Bfloat16,
        "int8" => DataType.Int8, "int16" => DataType.Int16, "int32" => DataType.Int32, "int64" => DataType.Int64,
        "uint8" => DataType.Uint8, "uint16" => DataType.Uint16, "uint32" => DataType.Uint32, "uint64" => DataType.Uint64,
        "bool" => DataType.Bool, "string" => DataType.String,
        _ => throw new NotSupportedException($"unknown dtype '{name}'"),
    };

    public static string ToName(DataType t) => t switch
    {
        DataType.Float => "float32", DataType.Double => "float64", DataType.Float16 => "float16",
        DataType.Bfloat16 => "bfloat16", DataType.Int8 => "int8", DataType.Int16 => "int16",
        DataType.Int32 => "int32", DataType.Int64 => "int64", DataType.Uint8 => "uint8",
        DataType.Uint16 => "uint16", DataType.Uint32 => "uint32", DataType.Uint64 => "uint64",
        DataType.Bool => "bool", DataType.String => "string",
        _ => t.ToString().ToLowerInvariant(),
    };
}
