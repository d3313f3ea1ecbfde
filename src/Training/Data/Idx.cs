using System.Buffers.Binary;
using System.IO.Compression;

namespace NeuralService.Training.Data;

/// <summary>
/// The IDX format (MNIST's): magic <c>00 00 TT NN</c> (TT = element type, NN = rank), NN big-endian int32
/// dimensions, then the elements in C order, multi-byte types big-endian. Files may be gzip-compressed
/// (detected from the gzip magic, not the name).
/// </summary>
public static class Idx
{
    /// <summary>Reads a whole IDX file; <paramref name="maxBytes"/> bounds what it may expand to (gzip).</summary>
    public static DataArray Read(string path, long maxBytes = long.MaxValue)
    {
        using var stream = OpenRead(path);
        return Read(stream, path, maxBytes);
    }

    public static DataArray Read(Stream stream, string name = "<stream>", long maxBytes = long.MaxValue)
    {
        var header = ReadHeader(stream, name);
        CheckDeclaredSize(stream, header.DType, header.Shape, name, "IDX", maxBytes);
        var result = DataArray.Zeros(header.DType, header.Shape);
        var bytes = result.WritableBytes();
        ReadExactly(stream, bytes, name, header.Shape[0]);
        SwapToLittleEndian(bytes, DTypes.Size(header.DType));
        return result;
    }

    /// <summary>A file header is untrusted: the size it declares is checked before anything is allocated for it, against
    /// what one array can hold, against what the caller allows (<paramref name="maxBytes"/>: a small gzip or zip member
    /// can declare gigabytes of zeros) and, where the stream knows its length, against the bytes that actually follow.</summary>
    internal static void CheckDeclaredSize(Stream stream, DType dtype, IReadOnlyList<int> shape, string name, string format, long maxBytes = long.MaxValue)
    {
        long elements = 1;
        foreach (var d in shape) elements = d == 0 || elements == 0 ? 0 : elements > Array.MaxLength / d ? long.MaxValue : elements * d;
        var declared = elements > Array.MaxLength ? long.MaxValue : elements * DTypes.Size(dtype);
        if (declared > Array.MaxLength)
            throw new DataFormatException($"{name}: {format} shape ({string.Join(", ", shape)}) declares more than {Array.MaxLength} elements or bytes");
        if (declared > maxBytes)
            throw new DataTooLargeException($"{name}: {format} shape ({string.Join(", ", shape)}) declares {declared} bytes of data, over the {maxBytes}-byte limit on decompressed data");
        if (stream.CanSeek && declared > stream.Length - stream.Position)
            throw new DataFormatException($"{name}: file ends early: its {format} shape ({string.Join(", ", shape)}) declares {declared} bytes of data but only {stream.Length - stream.Position} follow");
    }

    /// <summary>The element type and shape in an IDX header.</summary>
    public readonly record struct Header(DType DType, int[] Shape)
    {
        public int SampleSize
        {
            get
            {
                int n = 1;
                for (int i = 1; i < Shape.Length; i++) n *= Shape[i];
                return n;
            }
        }
    }

    /// <summary>Opens a file, transparently gunzipping it when it starts with the gzip magic.</summary>
    public static Stream OpenRead(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file not found: {path}", path);
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        int b0 = file.ReadByte(), b1 = file.ReadByte();
        file.Position = 0;
        if (b0 == 0x1f && b1 == 0x8b) return new BufferedStream(new GZipStream(file, CompressionMode.Decompress), 1 << 16);
        return file;
    }

    public static Header ReadHeader(Stream stream, string name)
    {
        Span<byte> magic = stackalloc byte[4];
        ReadExactly(stream, magic, name, null);
        if (magic[0] != 0 || magic[1] != 0)
            throw new DataFormatException($"{name}: not an IDX file (magic {magic[0]:x2} {magic[1]:x2} {magic[2]:x2} {magic[3]:x2}; expected 00 00 type rank)");
        var dtype = magic[2] switch
        {
            0x08 => DType.UInt8,
            0x09 => DType.Int8,
            0x0B => DType.Int16,
            0x0C => DType.Int32,
            0x0D => DType.Float32,
            0x0E => DType.Float64,
            _ => throw new DataFormatException($"{name}: unknown IDX element type 0x{magic[2]:x2} (expected 08, 09, 0B, 0C, 0D or 0E)"),
        };
        int rank = magic[3];
        if (rank == 0) throw new DataFormatException($"{name}: IDX rank 0 has no sample axis");
        var shape = new int[rank];
        Span<byte> dim = stackalloc byte[4];
        for (int i = 0; i < rank; i++)
        {
            ReadExactly(stream, dim, name, null);
            shape[i] = BinaryPrimitives.ReadInt32BigEndian(dim);
            if (shape[i] < 0) throw new DataFormatException($"{name}: IDX dimension {i} is negative ({shape[i]})");
        }
        return new Header(dtype, shape);
    }

    /// <summary>Big-endian elements to the machine's little-endian order, in place.</summary>
    internal static void SwapToLittleEndian(Span<byte> bytes, int elementSize)
    {
        if (elementSize == 1 || !BitConverter.IsLittleEndian) return;
        for (int i = 0; i + elementSize <= bytes.Length; i += elementSize) bytes.Slice(i, elementSize).Reverse();
    }

    internal static void ReadExactly(Stream stream, Span<byte> buffer, string name, int? samples)
    {
        int got = 0;
        while (got < buffer.Length)
        {
            int n = stream.Read(buffer[got..]);
            if (n == 0)
                throw new DataFormatException($"{name}: file ends early ({got} of {buffer.Length} bytes{(samples is null ? "" : $" for {samples} samples")})");
            got += n;
        }
    }

    /// <summary>Writes an IDX file (gzip-compressed when <paramref name="path"/> ends in .gz).</summary>
    public static void Write(string path, DataArray array)
    {
        using var file = File.Create(path);
        using Stream s = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionLevel.Fastest) : file;
        Write(s, array);
    }

    /// <summary>The IDX header's element type byte for <paramref name="type"/>; null for a type IDX cannot hold.</summary>
    public static byte? TypeCode(DType type) => type switch
    {
        DType.UInt8 => 0x08,
        DType.Int8 => 0x09,
        DType.Int16 => 0x0B,
        DType.Int32 => 0x0C,
        DType.Float32 => 0x0D,
        DType.Float64 => 0x0E,
        _ => null,
    };

    public static void Write(Stream stream, DataArray array)
    {
        var code = TypeCode(array.DType) ?? throw new ArgumentException($"IDX cannot store {array.DType}", nameof(array));
        stream.Write([0, 0, code, (byte)array.Rank]);
        Span<byte> dim = stackalloc byte[4];
        foreach (var d in array.Shape)
        {
            BinaryPrimitives.WriteInt32BigEndian(dim, d);
            stream.Write(dim);
        }
        var bytes = array.RawBytes().ToArray();
        SwapToLittleEndian(bytes, DTypes.Size(array.DType));
        stream.Write(bytes);
    }
}
