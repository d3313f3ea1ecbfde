using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace NeuralService.Training.Data;

/// <summary>
/// NumPy's .npy format, versions 1.0, 2.0 and 3.0: magic <c>\x93NUMPY</c>, version bytes, a little-endian header
/// length (uint16 for v1, uint32 for v2/v3), then a Python dict literal
/// <c>{'descr': '&lt;f4', 'fortran_order': False, 'shape': (2, 3), }</c> (latin-1; UTF-8 in v3), then raw data.
/// Numeric dtypes of either byte order and C order are read; object arrays ('|O', stored as pickles) are refused
/// because unpickling runs arbitrary code.
/// </summary>
public static partial class Npy
{
    private static ReadOnlySpan<byte> Magic => [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    public static DataArray Read(string path, long maxBytes = long.MaxValue)
    {
        using var s = File.OpenRead(path);
        return Read(s, path, maxBytes);
    }

    /// <param name="maxBytes">Most bytes of data the header may declare (checked before allocating).</param>
    public static DataArray Read(Stream stream, string name = "<npy>", long maxBytes = long.MaxValue)
    {
        Span<byte> pre = stackalloc byte[8];
        Idx.ReadExactly(stream, pre, name, null);
        if (!pre[..6].SequenceEqual(Magic)) throw new DataFormatException($"{name}: not a .npy file (missing \\x93NUMPY magic)");
        int major = pre[6];
        int headerLen;
        if (major == 1)
        {
            Span<byte> l = stackalloc byte[2];
            Idx.ReadExactly(stream, l, name, null);
            headerLen = BinaryPrimitives.ReadUInt16LittleEndian(l);
        }
        else if (major is 2 or 3)
        {
            Span<byte> l = stackalloc byte[4];
            Idx.ReadExactly(stream, l, name, null);
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(l);
            if (len > 1 << 24) throw new DataFormatException($"{name}: .npy header length {len} is implausible");
            headerLen = (int)len;
        }
        else throw new DataFormatException($"{name}: .npy version {major}.{pre[7]} is not supported (1.0, 2.0 and 3.0 are)");

        var hb = new byte[headerLen];
        Idx.ReadExactly(stream, hb, name, null);
        string header = major == 3 ? Encoding.UTF8.GetString(hb) : Encoding.Latin1.GetString(hb);
        var (descr, fortran, shape) = ParseHeader(header, name);
        var (dtype, bigEndian) = ParseDescr(descr, name);
        if (fortran)
            throw new DataFormatException($"{name}: fortran_order=True arrays are not supported; save it in C order (np.ascontiguousarray)");
        // A 0-d array is one scalar; give it a sample axis of 1.
        if (shape.Length == 0) shape = [1];
        Idx.CheckDeclaredSize(stream, dtype, shape, name, ".npy", maxBytes);
        var array = DataArray.Zeros(dtype, shape);
        var bytes = array.WritableBytes();
        Idx.ReadExactly(stream, bytes, name, shape[0]);
        if (bigEndian) Idx.SwapToLittleEndian(bytes, DTypes.Size(dtype));
        if (dtype == DType.Bool)
            foreach (ref var b in bytes) b = b != 0 ? (byte)1 : (byte)0;
        return array;
    }

    internal static (string Descr, bool Fortran, int[] Shape) ParseHeader(string header, string name)
    {
        var descr = DescrRegex().Match(header);
        var fortran = FortranRegex().Match(header);
        var shape = ShapeRegex().Match(header);
        if (!descr.Success || !fortran.Success || !shape.Success)
            throw new DataFormatException($"{name}: cannot parse .npy header {header.Trim()}");
        var dims = shape.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => int.TryParse(d.TrimEnd('L'), NumberStyles.None, CultureInfo.InvariantCulture, out var v)
                ? v
                : throw new DataFormatException($"{name}: bad dimension '{d}' in .npy shape ({shape.Groups[1].Value})"))
            .ToArray();
        return (descr.Groups[1].Value, fortran.Groups[1].Value == "True", dims);
    }

    internal static (DType DType, bool BigEndian) ParseDescr(string descr, string name)
    {
        if (descr.Length >= 2 && descr[1] == 'O' || descr == "O")
            throw new DataFormatException(
                $"{name}: dtype '{descr}' is an object array stored as a Python pickle; pickles are refused because loading them can run arbitrary code. " +
                "Store numeric arrays (for ragged sequences: a flat int32 array plus an offsets array)");
        if (descr.Length < 3) throw new DataFormatException($"{name}: unsupported dtype '{descr}'");
        char order = descr[0];
        string kind = descr[1..];
        bool big = order == '>' || (order == '=' && !BitConverter.IsLittleEndian);
        if (order is not ('<' or '>' or '|' or '='))
            throw new DataFormatException($"{name}: unsupported byte order in dtype '{descr}'");
        DType t = kind switch
        {
            "f4" => DType.Float32,
            "f8" => DType.Float64,
            "i1" => DType.Int8,
            "i2" => DType.Int16,
            "i4" => DType.Int32,
            "i8" => DType.Int64,
            "u1" => DType.UInt8,
            "u2" => DType.UInt16,
            "u4" => DType.UInt32,
            "u8" => DType.UInt64,
            "b1" => DType.Bool,
            _ => throw new DataFormatException($"{name}: unsupported dtype '{descr}' (supported: f4 f8 i1 i2 i4 i8 u1 u2 u4 u8 b1)"),
        };
        return (t, big);
    }

    public static string Descr(DType t) => t switch
    {
        DType.Float32 => "<f4",
        DType.Float64 => "<f8",
        DType.Int8 => "|i1",
        DType.Int16 => "<i2",
        DType.Int32 => "<i4",
        DType.Int64 => "<i8",
        DType.UInt8 => "|u1",
        DType.UInt16 => "<u2",
        DType.UInt32 => "<u4",
        DType.UInt64 => "<u8",
        DType.Bool => "|b1",
        _ => throw new ArgumentOutOfRangeException(nameof(t), t, "no NumPy dtype"),
    };

    public static void Write(string path, DataArray array)
    {
        using var s = File.Create(path);
        Write(s, array);
    }

    /// <summary>Writes version 1.0 (header padded so the data starts on a 64-byte boundary, as NumPy does).</summary>
    public static void Write(Stream stream, DataArray array)
    {
        string shape = array.Rank == 1 ? $"({array.Shape[0]},)" : $"({string.Join(", ", array.Shape)})";
        string dict = $"{{'descr': '{Descr(array.DType)}', 'fortran_order': False, 'shape': {shape}, }}";
        int total = 10 + dict.Length + 1;
        int pad = (64 - total % 64) % 64;
        string header = dict + new string(' ', pad) + "\n";
        if (header.Length > ushort.MaxValue) throw new ArgumentException("shape too long for a version 1.0 header");
        stream.Write(Magic);
        stream.Write([1, 0]);
        Span<byte> l = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(l, (ushort)header.Length);
        stream.Write(l);
        stream.Write(Encoding.Latin1.GetBytes(header));
        stream.Write(array.RawBytes());
    }

    [GeneratedRegex(@"['""]descr['""]\s*:\s*['""]([^'""]+)['""]")]
    private static partial Regex DescrRegex();

    [GeneratedRegex(@"['""]fortran_order['""]\s*:\s*(True|False)")]
    private static partial Regex FortranRegex();

    [GeneratedRegex(@"['""]shape['""]\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapeRegex();
}
