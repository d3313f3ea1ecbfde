using System.Buffers.Binary;
using System.Text.Json;
using NeuralService.Api.Errors;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Api.Kserve;

/// <summary>JSON numbers ↔ little-endian tensor bytes for every fixed-size element type, and nested arrays ↔ flat
/// values with their shape.</summary>
public static class TensorJson
{
    /// <summary>Leaves of a (possibly nested) JSON array in row-major order, and the nesting's shape; the nesting must be rectangular.</summary>
    public static (List<JsonElement> Leaves, List<long> Shape) Flatten(JsonElement value, string what)
    {
        var shape = new List<long>();
        for (var e = value; e.ValueKind == JsonValueKind.Array; e = e.GetArrayLength() > 0 ? e[0] : default)
        {
            shape.Add(e.GetArrayLength());
            if (e.GetArrayLength() == 0) break;
        }
        var leaves = new List<JsonElement>();
        Walk(value, 0, shape, leaves, what);
        return (leaves, shape);
    }

    private static void Walk(JsonElement e, int depth, List<long> shape, List<JsonElement> leaves, string what)
    {
        if (depth == shape.Count)
        {
            if (e.ValueKind is JsonValueKind.Array or JsonValueKind.Object)
                throw ApiException.BadRequest($"{what}: nested arrays are ragged (more nesting than the first element)");
            leaves.Add(e);
            return;
        }
        if (e.ValueKind != JsonValueKind.Array || e.GetArrayLength() != shape[depth])
            throw ApiException.BadRequest($"{what}: nested arrays are ragged at depth {depth} (expected {shape[depth]} items)");
        foreach (var child in e.EnumerateArray()) Walk(child, depth + 1, shape, leaves, what);
    }

    /// <summary>Converts JSON values to little-endian bytes of <paramref name="type"/>.</summary>
    public static byte[] ToBytes(IReadOnlyList<JsonElement> values, DataType type, string what)
    {
        var size = NeuralService.Graph.Onnx.DataTypes.ByteSize(type);
        var bytes = new byte[values.Count * size];
        for (var i = 0; i < values.Count; i++)
        {
            var span = bytes.AsSpan(i * size, size);
            var v = values[i];
            try
            {
                switch (type)
                {
                    case DataType.Bool:
                        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw new FormatException();
                        span[0] = v.GetBoolean() ? (byte)1 : (byte)0;
                        break;
                    case DataType.Float: BinaryPrimitives.WriteSingleLittleEndian(span, Fits((float)Finite(v, what, i), v, type, what, i)); break;
                    case DataType.Double: BinaryPrimitives.WriteDoubleLittleEndian(span, Finite(v, what, i)); break;
                    case DataType.Float16: BinaryPrimitives.WriteHalfLittleEndian(span, Fits((Half)Finite(v, what, i), v, type, what, i)); break;
                    case DataType.Bfloat16:
                        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)(BitConverter.SingleToUInt32Bits(Fits((float)Finite(v, what, i), v, type, what, i)) >> 16));
                        break;
                    case DataType.Int8: span[0] = (byte)checked((sbyte)v.GetInt64()); break;
                    case DataType.Uint8: span[0] = checked((byte)v.GetUInt64()); break;
                    case DataType.Int16: BinaryPrimitives.WriteInt16LittleEndian(span, checked((short)v.GetInt64())); break;
                    case DataType.Uint16: BinaryPrimitives.WriteUInt16LittleEndian(span, checked((ushort)v.GetUInt64())); break;
                    case DataType.Int32: BinaryPrimitives.WriteInt32LittleEndian(span, v.GetInt32()); break;
                    case DataType.Uint32: BinaryPrimitives.WriteUInt32LittleEndian(span, v.GetUInt32()); break;
                    case DataType.Int64: BinaryPrimitives.WriteInt64LittleEndian(span, v.GetInt64()); break;
                    case DataType.Uint64: BinaryPrimitives.WriteUInt64LittleEndian(span, v.GetUInt64()); break;
                    default: throw ApiException.BadRequest($"{what}: element type {type} cannot be given as JSON numbers");
                }
            }
            catch (Exception e) when (e is FormatException or InvalidOperationException or OverflowException)
            {
                throw ApiException.BadRequest($"{what}: value {i} ({v.GetRawText()}) is not a valid {KserveTypes.FromOnnx(type)}");
            }
        }
        return bytes;
    }

    // JSON has no NaN literal; strings like "NaN" are refused rather than guessed at.
    private static double Finite(JsonElement v, string what, int i)
    {
        var d = v.GetDouble();
        if (!double.IsFinite(d)) throw ApiException.BadRequest($"{what}: value {i} is not finite");
        return d;
    }

    // A finite JSON number beyond the element type's range (1e39 as FP32) would otherwise become infinity unnoticed.
    private static T Fits<T>(T value, JsonElement v, DataType type, string what, int i) where T : System.Numerics.IFloatingPointIeee754<T> =>
        T.IsFinite(value) ? value : throw ApiException.BadRequest($"{what}: value {i} ({v.GetRawText()}) is out of the range of {KserveTypes.FromOnnx(type)}");

    /// <summary>Writes the values of little-endian <paramref name="data"/> as JSON numbers (non-finite floats as the
    /// strings "NaN", "Infinity", "-Infinity", since JSON has no literal for them).</summary>
    public static void WriteValues(Utf8JsonWriter w, byte[] data, DataType type, long start, long count)
    {
        var size = NeuralService.Graph.Onnx.DataTypes.ByteSize(type);
        for (var i = start; i < start + count; i++)
        {
            var s = data.AsSpan((int)(i * size), size);
            switch (type)
            {
                case DataType.Bool: w.WriteBooleanValue(s[0] != 0); break;
                case DataType.Float: Float(w, BinaryPrimitives.ReadSingleLittleEndian(s)); break;
                case DataType.Double: Double(w, BinaryPrimitives.ReadDoubleLittleEndian(s)); break;
                case DataType.Float16: Float(w, (float)BinaryPrimitives.ReadHalfLittleEndian(s)); break;
                case DataType.Bfloat16: Float(w, BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(s) << 16)); break;
                case DataType.Int8: w.WriteNumberValue((sbyte)s[0]); break;
                case DataType.Uint8: w.WriteNumberValue(s[0]); break;
                case DataType.Int16: w.WriteNumberValue(BinaryPrimitives.ReadInt16LittleEndian(s)); break;
                case DataType.Uint16: w.WriteNumberValue(BinaryPrimitives.ReadUInt16LittleEndian(s)); break;
                case DataType.Int32: w.WriteNumberValue(BinaryPrimitives.ReadInt32LittleEndian(s)); break;
                case DataType.Uint32: w.WriteNumberValue(BinaryPrimitives.ReadUInt32LittleEndian(s)); break;
                case DataType.Int64: w.WriteNumberValue(BinaryPrimitives.ReadInt64LittleEndian(s)); break;
                case DataType.Uint64: w.WriteNumberValue(BinaryPrimitives.ReadUInt64LittleEndian(s)); break;
                default: throw new NotSupportedException($"element type {type} has no JSON form");
            }
        }
    }

    private static void Float(Utf8JsonWriter w, float v)
    {
        if (float.IsFinite(v)) w.WriteNumberValue(v);
        else w.WriteStringValue(float.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }

    private static void Double(Utf8JsonWriter w, double v)
    {
        if (double.IsFinite(v)) w.WriteNumberValue(v);
        else w.WriteStringValue(double.IsNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
    }

    /// <summary>Writes a row-major block as nested arrays of <paramref name="shape"/>.</summary>
    public static void WriteNested(Utf8JsonWriter w, byte[] data, DataType type, ReadOnlySpan<long> shape, long start)
    {
        if (shape.Length == 0) { WriteValues(w, data, type, start, 1); return; }
        var inner = 1L;
        foreach (var d in shape[1..]) inner *= d;
        w.WriteStartArray();
        for (var i = 0L; i < shape[0]; i++)
        {
            if (shape.Length == 1) WriteValues(w, data, type, start + i, 1);
            else WriteNested(w, data, type, shape[1..], start + i * inner);
        }
        w.WriteEndArray();
    }
}
