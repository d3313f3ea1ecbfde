using System.Runtime.InteropServices;

namespace NeuralService.Training.Data;

/// <summary>
/// A dense, C-ordered n-dimensional array whose first axis is the sample axis. The element storage keeps the file's
/// own type (bytes stay bytes: 60000 Fashion-MNIST images are 47 MB, not 188 MB as float), and converts on demand.
/// </summary>
public sealed class DataArray
{
    private readonly int[] _shape;

    public DataArray(Array data, DType dtype, params int[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(shape);
        if (data.Rank != 1) throw new ArgumentException($"data must be a 1-D array, got rank {data.Rank}", nameof(data));
        if (data.GetType().GetElementType() != DTypes.ClrType(dtype))
            throw new ArgumentException($"data is {data.GetType().Name} but dtype is {dtype}", nameof(data));
        if (shape.Length == 0) throw new ArgumentException("shape must have at least the sample axis", nameof(shape));
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"shape [{string.Join(", ", shape)}] has a negative dimension", nameof(shape));
            n *= d;
        }
        if (n != data.Length)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] holds {n} elements but data has {data.Length}", nameof(shape));
        Data = data;
        DType = dtype;
        _shape = (int[])shape.Clone();
    }

    public static DataArray Create<T>(T[] data, params int[] shape) where T : unmanaged =>
        new(data, DTypes.FromClr(typeof(T)), shape);

    /// <summary>A 1-D array of <paramref name="data"/>.</summary>
    public static DataArray Vector<T>(T[] data) where T : unmanaged => Create(data, data.Length);

    public static DataArray Zeros(DType dtype, params int[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return new DataArray(Array.CreateInstance(DTypes.ClrType(dtype), n), dtype, shape);
    }

    public Array Data { get; }

    public DType DType { get; }

    public IReadOnlyList<int> Shape => _shape;

    /// <summary>Number of samples (size of axis 0).</summary>
    public int Count => _shape[0];

    public int Rank => _shape.Length;

    public long Length => Data.LongLength;

    /// <summary>Shape of one sample (axes after the first).</summary>
    public int[] SampleShape => _shape[1..];

    /// <summary>Elements per sample.</summary>
    public int SampleSize
    {
        get
        {
            int n = 1;
            for (int i = 1; i < _shape.Length; i++) n *= _shape[i];
            return n;
        }
    }

    /// <summary>The storage as <typeparamref name="T"/>[]; throws when the dtype differs (use <see cref="Cast"/>).</summary>
    public T[] As<T>() where T : unmanaged =>
        DTypes.FromClr(typeof(T)) == DType
            ? (T[])Data
            : throw new InvalidOperationException($"array is {DType}, not {typeof(T).Name}; call Cast first");

    public DataArray Reshape(params int[] shape)
    {
        int unknown = Array.IndexOf(shape, -1);
        if (unknown >= 0)
        {
            long known = 1;
            for (int i = 0; i < shape.Length; i++) if (i != unknown) known *= shape[i];
            shape = (int[])shape.Clone();
            shape[unknown] = known == 0 ? 0 : (int)(Length / known);
        }
        return new DataArray(Data, DType, shape);
    }

    /// <summary>Samples [start, start+count) as a copy.</summary>
    public DataArray Slice(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Count)
            throw new ArgumentOutOfRangeException(nameof(start), $"slice [{start}, {start + count}) is outside 0..{Count}");
        int s = SampleSize;
        var dst = Array.CreateInstance(Data.GetType().GetElementType()!, (long)count * s);
        Array.Copy(Data, (long)start * s, dst, 0, (long)count * s);
        var shape = (int[])_shape.Clone();
        shape[0] = count;
        return new DataArray(dst, DType, shape);
    }

    /// <summary>Gathers the samples at <paramref name="indices"/> (in that order) into a new array.</summary>
    public DataArray Take(ReadOnlySpan<int> indices) => Take(indices, null);

    /// <summary>As <see cref="Take(ReadOnlySpan{int})"/>, but refills <paramref name="reuse"/> when it has the result's
    /// type and shape: a batch buffer filled step after step, instead of a new array per batch (arrays over 85 kB live
    /// on the large-object heap until a full collection, so a new one per step keeps faulting in fresh pages).</summary>
    internal DataArray Take(ReadOnlySpan<int> indices, DataArray? reuse)
    {
        int s = SampleSize;
        var dst = reuse is not null && reuse.DType == DType && reuse._shape[0] == indices.Length && reuse.SampleShape.SequenceEqual(SampleShape)
            ? reuse.Data
            : Array.CreateInstance(Data.GetType().GetElementType()!, (long)indices.Length * s);
        for (int i = 0; i < indices.Length; i++)
        {
            int k = indices[i];
            if ((uint)k >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), $"sample index {k} is outside 0..{Count - 1}");
            Array.Copy(Data, (long)k * s, dst, (long)i * s, s);
        }
        if (ReferenceEquals(dst, reuse?.Data)) return reuse!;
        var shape = (int[])_shape.Clone();
        shape[0] = indices.Length;
        return new DataArray(dst, DType, shape);
    }

    /// <summary>Element <paramref name="i"/> (flat index) as double, whatever the storage.</summary>
    public double GetDouble(long i) => DType switch
    {
        // Switch on DType, not on the array's runtime type: the CLR lets byte[] pass as sbyte[] (and ushort[] as short[] …).
        DType.Float32 => ((float[])Data)[i],
        DType.Float64 => ((double[])Data)[i],
        DType.Int8 => ((sbyte[])Data)[i],
        DType.Int16 => ((short[])Data)[i],
        DType.Int32 => ((int[])Data)[i],
        DType.Int64 => ((long[])Data)[i],
        DType.UInt8 => ((byte[])Data)[i],
        DType.UInt16 => ((ushort[])Data)[i],
        DType.UInt32 => ((uint[])Data)[i],
        DType.UInt64 => ((ulong[])Data)[i],
        DType.Bool => ((bool[])Data)[i] ? 1 : 0,
        _ => throw new InvalidOperationException("unsupported storage"),
    };

    /// <summary>Converts every element to <paramref name="dtype"/> (C casts: floats truncate toward zero).</summary>
    public DataArray Cast(DType dtype)
    {
        if (dtype == DType) return this;
        var shape = (int[])_shape.Clone();
        return dtype switch
        {
            DType.Float32 => new DataArray(ToFloat32(), dtype, shape),
            DType.Int64 => new DataArray(ToInt64(), dtype, shape),
            _ => new DataArray(Convert(dtype), dtype, shape),
        };
    }

    /// <summary>The flat index of the first value that is NaN or infinite as float32, or -1 (always -1 for integer
    /// arrays); reads in place, where a float32 copy of a whole dataset would cost its size again.</summary>
    public long IndexOfNonFinite()
    {
        switch (Data)
        {
            case float[] f:
                for (var i = 0; i < f.Length; i++) if (!float.IsFinite(f[i])) return i;
                return -1;
            case double[] d:
                // As float32 (what training reads): a double beyond float's range is infinite there.
                for (var i = 0; i < d.Length; i++) if (!float.IsFinite((float)d[i])) return i;
                return -1;
            default:
                return -1;
        }
    }

    public float[] ToFloat32()
    {
        var r = new float[Data.LongLength];
        CopyTo(r);
        return r;
    }

    /// <summary>Every element as float32 into the start of <paramref name="destination"/>.</summary>
    public void CopyTo(Span<float> destination)
    {
        if (destination.Length < Data.LongLength)
            throw new ArgumentException($"the destination holds {destination.Length} values, the array {Data.LongLength}", nameof(destination));
        switch (Data)
        {
            case float[] f when DType == DType.Float32: f.CopyTo(destination); break;
            case byte[] b when DType == DType.UInt8:
                for (int i = 0; i < b.Length; i++) destination[i] = b[i];
                break;
            default:
                for (int i = 0; i < Data.Length; i++) destination[i] = (float)GetDouble(i);
                break;
        }
    }

    public long[] ToInt64()
    {
        var r = new long[Data.LongLength];
        CopyTo(r);
        return r;
    }

    /// <summary>Every element as int64 (floats truncated toward zero) into the start of <paramref name="destination"/>.</summary>
    public void CopyTo(Span<long> destination)
    {
        if (destination.Length < Data.LongLength)
            throw new ArgumentException($"the destination holds {destination.Length} values, the array {Data.LongLength}", nameof(destination));
        switch (Data)
        {
            case long[] l when DType == DType.Int64: l.CopyTo(destination); break;
            case ulong[] u when DType == DType.UInt64:
                for (int i = 0; i < u.Length; i++) destination[i] = unchecked((long)u[i]);
                break;
            default:
                for (int i = 0; i < Data.Length; i++) destination[i] = (long)GetDouble(i);
                break;
        }
    }

    private Array Convert(DType dtype)
    {
        var dst = Array.CreateInstance(DTypes.ClrType(dtype), Data.LongLength);
        for (long i = 0; i < dst.LongLength; i++)
        {
            double v = GetDouble(i);
            object o = dtype switch
            {
                DType.Float64 => v,
                DType.Int8 => (sbyte)v,
                DType.Int16 => (short)v,
                DType.Int32 => (int)v,
                DType.UInt8 => (byte)v,
                DType.UInt16 => (ushort)v,
                DType.UInt32 => (uint)v,
                DType.UInt64 => (ulong)v,
                DType.Bool => v != 0,
                _ => throw new InvalidOperationException($"no conversion to {dtype}"),
            };
            dst.SetValue(o, i);
        }
        return dst;
    }

    /// <summary>The raw little-endian bytes of the storage (no copy).</summary>
    internal ReadOnlySpan<byte> RawBytes() => WritableBytes();

    /// <summary>Writable raw bytes of the storage, for readers that fill it from a file.</summary>
    internal Span<byte> WritableBytes() => Data switch
    {
        float[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        double[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        sbyte[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        short[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        int[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        long[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        byte[] a => a,
        ushort[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        uint[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        ulong[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        bool[] a => MemoryMarshal.AsBytes(a.AsSpan()),
        _ => throw new InvalidOperationException("unsupported storage"),
    };

    /// <summary>Concatenates arrays along the sample axis; they must agree on dtype and sample shape.</summary>
    public static DataArray Concat(IReadOnlyList<DataArray> parts)
    {
        if (parts.Count == 0) throw new ArgumentException("nothing to concatenate", nameof(parts));
        var first = parts[0];
        long total = 0;
        int count = 0;
        foreach (var p in parts)
        {
            if (p.DType != first.DType || !p.SampleShape.AsSpan().SequenceEqual(first.SampleShape))
                throw new ArgumentException($"cannot concatenate {p.DType}[{string.Join(",", p.Shape)}] with {first.DType}[{string.Join(",", first.Shape)}]");
            total += p.Length;
            count += p.Count;
        }
        var dst = Array.CreateInstance(first.Data.GetType().GetElementType()!, total);
        long at = 0;
        foreach (var p in parts)
        {
            Array.Copy(p.Data, 0, dst, at, p.Length);
            at += p.Length;
        }
        var shape = (int[])first._shape.Clone();
        shape[0] = count;
        return new DataArray(dst, first.DType, shape);
    }

    public override string ToString() => $"{DType}[{string.Join(", ", _shape)}]";
}
