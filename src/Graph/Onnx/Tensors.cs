using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Onnx;

/// <summary>Builds and reads <see cref="TensorProto"/>s. Writers always use <c>raw_data</c> (little-endian);
/// readers accept both <c>raw_data</c> and the typed repeated fields.</summary>
public static class Tensors
{
    public static TensorProto Create(string name, ReadOnlySpan<float> data, params long[] dims) =>
        Raw(name, DataType.Float, MemoryMarshal.AsBytes(data), dims, data.Length);
    public static TensorProto Create(string name, ReadOnlySpan<double> data, params long[] dims) =>
        Raw(name, DataType.Double, MemoryMarshal.AsBytes(data), dims, data.Length);
    public static TensorProto Create(string name, ReadOnlySpan<long> data, params long[] dims) =>
        Raw(name, DataType.Int64, MemoryMarshal.AsBytes(data), dims, data.Length);
    public static TensorProto Create(string name, ReadOnlySpan<int> data, params long[] dims) =>
        Raw(name, DataType.Int32, MemoryMarshal.AsBytes(data), dims, data.Length);
    public static TensorProto Create(string name, ReadOnlySpan<bool> data, params long[] dims) =>
        Raw(name, DataType.Bool, MemoryMarshal.AsBytes(data), dims, data.Length);

    public static TensorProto Scalar(string name, float value) => Create(name, [value]);
    public static TensorProto Scalar(string name, long value) => Create(name, [value]);

    /// <summary>A tensor of any fixed-size element type from its little-endian bytes.</summary>
    public static TensorProto Raw(string name, DataType type, ReadOnlySpan<byte> bytes, long[] dims, long count)
    {
        var expected = dims.Aggregate(1L, (p, d) => p * d);
        if (expected != count)
            throw new ArgumentException($"tensor '{name}': {count} elements do not fill shape [{string.Join(",", dims)}] ({expected})");
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("big-endian hosts are not supported");
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        t.Dims.AddRange(dims);
        return t;
    }

    public static TensorProto Strings(string name, IEnumerable<string> values, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = (int)DataType.String };
        t.Dims.AddRange(dims);
        t.StringData.AddRange(values.Select(ByteString.CopyFromUtf8));
        return t;
    }

    public static DataType TypeOf(TensorProto t) => (DataType)t.DataType;
    public static long[] DimsOf(TensorProto t) => t.Dims.ToArray();
    public static long ElementCount(TensorProto t) => t.Dims.Aggregate(1L, (p, d) => p * d);

    /// <summary>Little-endian element bytes, whether stored in <c>raw_data</c> or typed fields.</summary>
    public static byte[] Bytes(TensorProto t)
    {
        var type = TypeOf(t);
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
            throw new InvalidDataException($"tensor '{t.Name}' keeps its data externally; load it with its model directory");
        if (!t.RawData.IsEmpty) return t.RawData.ToByteArray();
        var n = (int)ElementCount(t);
        var size = DataTypes.ByteSize(type);
        var bytes = new byte[n * size];
        var span = bytes.AsSpan();
        switch (type)
        {
            case DataType.Float: Check(t.FloatData.Count); for (var i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(span[(i * 4)..], t.FloatData[i]); break;
            case DataType.Double: Check(t.DoubleData.Count); for (var i = 0; i < n; i++) BinaryPrimitives.WriteDoubleLittleEndian(span[(i * 8)..], t.DoubleData[i]); break;
            case DataType.Int64: Check(t.Int64Data.Count); for (var i = 0; i < n; i++) BinaryPrimitives.WriteInt64LittleEndian(span[(i * 8)..], t.Int64Data[i]); break;
            case DataType.Uint64: Check(t.Uint64Data.Count); for (var i = 0; i < n; i++) BinaryPrimitives.WriteUInt64LittleEndian(span[(i * 8)..], t.Uint64Data[i]); break;
            case DataType.Uint32: Check(t.Uint64Data.Count); for (var i = 0; i < n; i++) BinaryPrimitives.WriteUInt32LittleEndian(span[(i * 4)..], (uint)t.Uint64Data[i]); break;
            case DataType.Int32: Check(t.Int32Data.Count); for (var i = 0; i < n; i++) BinaryPrimitives.WriteInt32LittleEndian(span[(i * 4)..], t.Int32Data[i]); break;
            // int32_data holds the narrower types, including float16/bfloat16 bit patterns.
            case DataType.Int16 or DataType.Uint16 or DataType.Float16 or DataType.Bfloat16:
                Check(t.Int32Data.Count); for (var i = 0; i < n; i++) BinaryPrimitives.WriteUInt16LittleEndian(span[(i * 2)..], (ushort)t.Int32Data[i]); break;
            case DataType.Int8 or DataType.Uint8 or DataType.Bool:
                Check(t.Int32Data.Count); for (var i = 0; i < n; i++) bytes[i] = (byte)t.Int32Data[i]; break;
            case DataType.Complex64: Check(t.FloatData.Count / 2); for (var i = 0; i < 2 * n; i++) BinaryPrimitives.WriteSingleLittleEndian(span[(i * 4)..], t.FloatData[i]); break;
            case DataType.Complex128: Check(t.DoubleData.Count / 2); for (var i = 0; i < 2 * n; i++) BinaryPrimitives.WriteDoubleLittleEndian(span[(i * 8)..], t.DoubleData[i]); break;
            default: throw new NotSupportedException($"tensor '{t.Name}': element type {type} has no byte form");
        }
        return bytes;

        void Check(int have)
        {
            if (have != n) throw new InvalidDataException($"tensor '{t.Name}' declares {n} elements but holds {have}");
        }
    }

    public static float[] ToFloats(TensorProto t) => TypeOf(t) switch
    {
        DataType.Float => MemoryMarshal.Cast<byte, float>(Bytes(t)).ToArray(),
        DataType.Double => MemoryMarshal.Cast<byte, double>(Bytes(t)).ToArray().Select(d => (float)d).ToArray(),
        DataType.Float16 => MemoryMarshal.Cast<byte, Half>(Bytes(t)).ToArray().Select(h => (float)h).ToArray(),
        _ => ToLongs(t).Select(v => (float)v).ToArray(),
    };

    public static double[] ToDoubles(TensorProto t) => TypeOf(t) == DataType.Double
        ? MemoryMarshal.Cast<byte, double>(Bytes(t)).ToArray()
        : ToFloats(t).Select(f => (double)f).ToArray();

    /// <summary>Integer-valued tensors (any integer type or bool) as longs: shapes, axes, indices.</summary>
    public static long[] ToLongs(TensorProto t)
    {
        var b = Bytes(t);
        return TypeOf(t) switch
        {
            DataType.Int64 => MemoryMarshal.Cast<byte, long>(b).ToArray(),
            DataType.Uint64 => MemoryMarshal.Cast<byte, ulong>(b).ToArray().Select(v => (long)v).ToArray(),
            DataType.Int32 => MemoryMarshal.Cast<byte, int>(b).ToArray().Select(v => (long)v).ToArray(),
            DataType.Uint32 => MemoryMarshal.Cast<byte, uint>(b).ToArray().Select(v => (long)v).ToArray(),
            DataType.Int16 => MemoryMarshal.Cast<byte, short>(b).ToArray().Select(v => (long)v).ToArray(),
            DataType.Uint16 => MemoryMarshal.Cast<byte, ushort>(b).ToArray().Select(v => (long)v).ToArray(),
            DataType.Int8 => b.Select(v => (long)(sbyte)v).ToArray(),
            DataType.Uint8 or DataType.Bool => b.Select(v => (long)v).ToArray(),
            DataType.Float or DataType.Double => ToDoubles(t).Select(d => (long)d).ToArray(),
            var other => throw new NotSupportedException($"tensor '{t.Name}' of {other} is not integer-valued"),
        };
    }

    public static string[] ToStrings(TensorProto t) => t.StringData.Select(s => s.ToStringUtf8()).ToArray();
}
