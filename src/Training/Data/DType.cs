namespace NeuralService.Training.Data;

/// <summary>Element types a <see cref="DataArray"/> can hold (NumPy's numeric dtypes that data files use).</summary>
public enum DType
{
    Float32,
    Float64,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Bool,
}

/// <summary>Mapping between <see cref="DType"/> and CLR element types.</summary>
public static class DTypes
{
    public static Type ClrType(DType t) => t switch
    {
        DType.Float32 => typeof(float),
        DType.Float64 => typeof(double),
        DType.Int8 => typeof(sbyte),
        DType.Int16 => typeof(short),
        DType.Int32 => typeof(int),
        DType.Int64 => typeof(long),
        DType.UInt8 => typeof(byte),
        DType.UInt16 => typeof(ushort),
        DType.UInt32 => typeof(uint),
        DType.UInt64 => typeof(ulong),
        DType.Bool => typeof(bool),
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "unknown dtype"),
    };

    public static DType FromClr(Type t) =>
        t == typeof(float) ? DType.Float32
        : t == typeof(double) ? DType.Float64
        : t == typeof(sbyte) ? DType.Int8
        : t == typeof(short) ? DType.Int16
        : t == typeof(int) ? DType.Int32
        : t == typeof(long) ? DType.Int64
        : t == typeof(byte) ? DType.UInt8
        : t == typeof(ushort) ? DType.UInt16
        : t == typeof(uint) ? DType.UInt32
        : t == typeof(ulong) ? DType.UInt64
        : t == typeof(bool) ? DType.Bool
        : throw new ArgumentException($"element type '{t}' is not supported by DataArray", nameof(t));

    public static int Size(DType t) => t switch
    {
        DType.Float32 or DType.Int32 or DType.UInt32 => 4,
        DType.Float64 or DType.Int64 or DType.UInt64 => 8,
        DType.Int16 or DType.UInt16 => 2,
        _ => 1,
    };

    public static bool IsFloat(DType t) => t is DType.Float32 or DType.Float64;
}
