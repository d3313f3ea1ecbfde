using System.Runtime.InteropServices;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Inference.Engine;

/// <summary>A named dense tensor of any ONNX element type, row-major. Fixed-size types keep little-endian bytes in
/// <see cref="Data"/> (float16/bfloat16 as their 16-bit patterns, bool as one byte); strings keep <see cref="Strings"/>.</summary>
public sealed class NamedTensor
{
    public NamedTensor(string name, DataType elementType, long[] dims, byte[]? data = null, string[]? strings = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (dims.Any(d => d < 0)) throw new InvalidInputException($"tensor '{name}': negative dimension in [{string.Join(",", dims)}]");
        Name = name;
        ElementType = elementType;
        Dims = dims;
        var count = ElementCount;
        if (elementType == DataType.String)
        {
            if (strings is null || data is not null) throw new InvalidInputException($"tensor '{name}' of strings needs string values, not bytes");
            if (strings.LongLength != count) throw new InvalidInputException($"tensor '{name}': {strings.Length} strings do not fill shape [{string.Join(",", dims)}] ({count})");
            Strings = strings;
        }
        else
        {
            int size;
            try { size = DataTypes.ByteSize(elementType); }
            catch (NotSupportedException) { throw new InvalidInputException($"tensor '{name}': element type {elementType} is not supported"); }
            if (data is null || strings is not null) throw new InvalidInputException($"tensor '{name}' of {DataTypes.ToName(elementType)} needs byte data");
            if (data.LongLength != count * size)
                throw new InvalidInputException($"tensor '{name}': {data.Length} bytes do not fill shape [{string.Join(",", dims)}] of {DataTypes.ToName(elementType)} ({count * size} bytes)");
            Data = data;
        }
    }

    public string Name { get; }
    public DataType ElementType { get; }
    public long[] Dims { get; }
    public byte[]? Data { get; }
    public string[]? Strings { get; }
    public long ElementCount => Dims.Aggregate(1L, (p, d) => p * d);

    public static NamedTensor Create<T>(string name, T[] values, params long[] dims) where T : unmanaged =>
        new(name, TypeOf<T>(), dims, MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public static NamedTensor Create(string name, string[] values, params long[] dims) => new(name, DataType.String, dims, strings: values);

    /// <summary>The values as <typeparamref name="T"/>; the type must have the element's size (use ushort or Half for float16).</summary>
    public T[] As<T>() where T : unmanaged
    {
        if (Data is null) throw new InvalidOperationException($"tensor '{Name}' holds strings");
        if (Data.Length % Marshal.SizeOf<T>() != 0 || (ElementCount > 0 && Data.Length / ElementCount != Marshal.SizeOf<T>()))
            throw new InvalidOperationException($"tensor '{Name}' of {DataTypes.ToName(ElementType)} cannot be read as {typeof(T).Name}");
        return MemoryMarshal.Cast<byte, T>(Data).ToArray();
    }

    public NamedTensor WithName(string name) => new(name, ElementType, Dims, Data, Strings);

    public override string ToString() => $"{Name}: {DataTypes.ToName(ElementType)}[{string.Join(",", Dims)}]";

    private static DataType TypeOf<T>() => typeof(T) switch
    {
        var t when t == typeof(float) => DataType.Float,
        var t when t == typeof(double) => DataType.Double,
        var t when t == typeof(Half) => DataType.Float16,
        var t when t == typeof(sbyte) => DataType.Int8,
        var t when t == typeof(byte) => DataType.Uint8,
        var t when t == typeof(short) => DataType.Int16,
        var t when t == typeof(ushort) => DataType.Uint16,
        var t when t == typeof(int) => DataType.Int32,
        var t when t == typeof(uint) => DataType.Uint32,
        var t when t == typeof(long) => DataType.Int64,
        var t when t == typeof(ulong) => DataType.Uint64,
        var t when t == typeof(bool) => DataType.Bool,
        var t => throw new NotSupportedException($"no ONNX element type for {t.Name}; use the byte constructor"),
    };
}
