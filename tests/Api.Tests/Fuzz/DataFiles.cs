using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace NeuralService.Api.Tests.Fuzz;

/// <summary>A dataset file upload: the features file, an optional labels file, and the form's other fields.</summary>
public sealed record DataUpload(string FileName, byte[] File, string? LabelsName, byte[]? Labels, IReadOnlyList<(string Name, string Value)> Fields, string What);

/// <summary>NPY, IDX (plain and gzipped) and NPZ dataset uploads, valid ones and ones with mutated headers: dims that
/// are zero, negative, huge, overflowing or more than the data holds, wrong ranks, element types and magic, header
/// lengths that point anywhere, truncated data, and NPZ archives with broken or odd members.</summary>
public sealed class DataFiles(Random rng)
{
    private const int Rows = 12;
    private readonly List<string> _steps = [];

    public DataUpload Next()
    {
        var u = rng.Next(4) switch
        {
            0 => NpyPair(),
            1 => IdxPair(gzip: false),
            2 => IdxPair(gzip: true),
            _ => NpzUpload(),
        };
        return u with { What = string.Join("; ", _steps) };
    }

    private static readonly string[] Descrs = ["<f4", "<f8", ">f4", "|u1", "<i8", "<i4", "|b1", "<f2", "|O", "<U10", "<c8", "V8", "garbage", "", "<f4'"];
    private static readonly string[] DimPool = ["0", "1", "2", "4", "12", "-1", "-12", "65536", "2147483647", "2147483648", "4294967296", "9223372036854775807", "99999999999999999999", "1.5", "'x'", "None"];

    private DataUpload NpyPair()
    {
        _steps.Add("npy");
        var features = FloatRows();
        var labels = Labels();
        var x = Npy("<f4", $"({Rows}, 4)", features);
        var y = Npy("<i8", $"({Rows},)", labels);
        if (rng.Next(3) == 0) y = MutateNpy(y, "labels");
        else x = MutateNpy(x, "features");
        var withLabels = rng.Next(6) > 0;
        return new DataUpload("x.npy", x, withLabels ? "y.npy" : null, withLabels ? y : null, [("label_type", "int64")], "");
    }

    private byte[] MutateNpy(byte[] valid, string which)
    {
        switch (rng.Next(9))
        {
            case 0 or 1 or 2:
                var rank = rng.Next(4) == 0 ? rng.Next(0, 40) : rng.Next(1, 4);
                var dims = Enumerable.Range(0, rank).Select(_ => DimPool[rng.Next(DimPool.Length)]).ToList();
                var shape = rank == 1 ? $"({dims[0]},)" : $"({string.Join(", ", dims)})";
                _steps.Add($"{which} shape {shape}");
                return Npy(rng.Next(4) == 0 ? Descrs[rng.Next(Descrs.Length)] : "<f4", shape, valid[^(Rows * 4 * 4)..]);
            case 3:
                var descr = Descrs[rng.Next(Descrs.Length)];
                _steps.Add($"{which} descr '{descr}'");
                return Npy(descr, $"({Rows}, 4)", valid[^(Rows * 16)..]);
            case 4:
                var len = (ushort)rng.Next(0, 65536);
                var b = (byte[])valid.Clone();
                BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(8), len);
                _steps.Add($"{which} header length {len}");
                return b;
            case 5:
                var c = (byte[])valid.Clone();
                c[6] = (byte)rng.Next(256);
                _steps.Add($"{which} version byte {c[6]}");
                return c;
            case 6:
                var at = rng.Next(valid.Length);
                _steps.Add($"{which} truncated to {at}");
                return valid[..at];
            case 7:
                var dict = Pick("{'descr': '<f4', 'fortran_order': True, 'shape': (12, 4), }", "{'descr': '<f4', 'shape': (12, 4), }",
                    "{'descr': '<f4', 'fortran_order': 'maybe', 'shape': (12, 4), }", "{'shape': [12, 4], 'descr': '<f4', 'fortran_order': False}",
                    "not a dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (12, 4), 'shape': (99999999, 4), }", "{" + new string('(', 5000) + "}");
                _steps.Add($"{which} header {dict[..Math.Min(60, dict.Length)]}");
                return NpyRaw(dict, valid[^(Rows * 16)..]);
            default:
                var f = (byte[])valid.Clone();
                for (var i = 0; i < 1 + rng.Next(8); i++) f[rng.Next(f.Length)] ^= (byte)(1 << rng.Next(8));
                _steps.Add($"{which} bit flips");
                return f;
        }
    }

    private static readonly byte[] IdxTypes = [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0x07, 0xFF];
    private static readonly uint[] IdxDims = [0, 1, 2, 4, 12, 255, 65536, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF];

    private DataUpload IdxPair(bool gzip)
    {
        _steps.Add(gzip ? "idx.gz" : "idx");
        var images = Idx(0x08, [Rows, 2, 2], Enumerable.Range(0, Rows * 4).Select(i => (byte)(i * 7)).ToArray());
        var labels = Idx(0x08, [Rows], Enumerable.Range(0, Rows).Select(i => (byte)(i % 3)).ToArray());
        var which = rng.Next(3) == 0 ? "labels" : "images";
        var target = which == "labels" ? labels : images;
        switch (rng.Next(6))
        {
            case 0 or 1:
                var rank = rng.Next(4) == 0 ? rng.Next(0, 256) : rng.Next(1, 4);
                var dims = Enumerable.Range(0, rank).Select(_ => IdxDims[rng.Next(IdxDims.Length)]).ToArray();
                _steps.Add($"{which} dims ({string.Join(", ", dims)})");
                target = Idx(rng.Next(4) == 0 ? IdxTypes[rng.Next(IdxTypes.Length)] : (byte)0x08, dims, target[^Math.Min(target.Length - 4, Rows * 4)..]);
                break;
            case 2:
                target = (byte[])target.Clone();
                target[2] = IdxTypes[rng.Next(IdxTypes.Length)];
                _steps.Add($"{which} type 0x{target[2]:X2}");
                break;
            case 3:
                target = (byte[])target.Clone();
                target[3] = (byte)rng.Next(256);
                _steps.Add($"{which} rank byte {target[3]}");
                break;
            case 4:
                var at = rng.Next(target.Length);
                target = target[..at];
                _steps.Add($"{which} truncated to {at}");
                break;
            default:
                target = (byte[])target.Clone();
                target[rng.Next(2)] = (byte)rng.Next(1, 256);
                _steps.Add($"{which} magic {Convert.ToHexString(target, 0, 4)}");
                break;
        }
        if (which == "labels") labels = target; else images = target;
        if (gzip)
        {
            images = Gzip(images);
            labels = Gzip(labels);
            if (rng.Next(4) == 0)
            {
                images = images[..rng.Next(images.Length)];
                _steps.Add("gzip stream cut");
            }
        }
        var ext = gzip ? "-idx3-ubyte.gz" : ".idx";
        return new DataUpload("images" + ext, images, rng.Next(6) > 0 ? "labels" + ext : null, labels, [("label_type", "int64"), ("format", "idx")], "");
    }

    private DataUpload NpzUpload()
    {
        _steps.Add("npz");
        var x = Npy("<f4", $"({Rows}, 4)", FloatRows());
        var y = Npy("<i8", $"({Rows},)", Labels());
        var members = new List<(string Name, byte[] Data)> { ("x.npy", x), ("y.npy", y) };
        var fields = new List<(string, string)> { ("label_type", "int64") };
        switch (rng.Next(7))
        {
            case 0 or 1:
                var i = rng.Next(2);
                members[i] = (members[i].Name, MutateNpy(members[i].Data, members[i].Name));
                break;
            case 2:
                var name = Pick("../x.npy", "/etc/x.npy", "x", "x.npy/", "x0.npy", "x_input_layer.npy", "features.npy", "🦀.npy", "x.npy\u0000.txt");
                members[0] = (name, x);
                _steps.Add($"member named '{name}'");
                break;
            case 3:
                members.Add(("x.npy", Npy("<f4", "(3, 4)", new byte[48])));
                _steps.Add("x.npy twice");
                break;
            case 4:
                var fk = Pick("y", "nope", "", "x.npy", "../x");
                fields.Add(("features_key", fk));
                fields.Add(("labels_key", Pick("x", "y", "nope")));
                _steps.Add($"features_key '{fk}'");
                break;
            case 5:
                members.RemoveAt(rng.Next(2));
                _steps.Add("a member missing");
                break;
            default:
                members.Add(("x0.npy", x));
                _steps.Add("x and x0 both present");
                break;
        }
        var zip = Zip(members, rng.Next(2) == 0 ? CompressionLevel.NoCompression : CompressionLevel.Fastest);
        if (rng.Next(5) == 0)
        {
            for (var f = 0; f < 1 + rng.Next(6); f++) zip[rng.Next(zip.Length)] ^= (byte)(1 << rng.Next(8));
            _steps.Add("zip bit flips");
        }
        return new DataUpload("data.npz", zip, null, null, fields, "");
    }

    private T Pick<T>(params T[] items) => items[rng.Next(items.Length)];

    private static byte[] FloatRows()
    {
        var b = new byte[Rows * 4 * 4];
        for (var i = 0; i < Rows * 4; i++) BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan(i * 4), (i % 4 == i / 4 % 3 ? 3f : 0f) + i * 0.01f);
        return b;
    }

    private static byte[] Labels()
    {
        var b = new byte[Rows * 8];
        for (var i = 0; i < Rows; i++) BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(i * 8), i % 3);
        return b;
    }

    public static byte[] Npy(string descr, string shape, byte[] data) =>
        NpyRaw($"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}", data);

    private static byte[] NpyRaw(string dict, byte[] data)
    {
        var pad = (64 - (10 + dict.Length + 1) % 64) % 64;
        var header = Encoding.Latin1.GetBytes(dict + new string(' ', pad) + "\n");
        byte[] prefix = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)(header.Length & 0xff), (byte)(header.Length >> 8)];
        return [.. prefix, .. header, .. data];
    }

    private static byte[] Idx(byte type, IReadOnlyList<uint> dims, byte[] data)
    {
        var b = new byte[4 + 4 * dims.Count];
        b[2] = type;
        b[3] = (byte)dims.Count;
        for (var i = 0; i < dims.Count; i++) BinaryPrimitives.WriteUInt32BigEndian(b.AsSpan(4 + 4 * i), dims[i]);
        return [.. b, .. data];
    }

    private static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(data);
        return ms.ToArray();
    }

    private static byte[] Zip(IEnumerable<(string Name, byte[] Data)> members, CompressionLevel level)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in members)
            {
                using var s = zip.CreateEntry(name, level).Open();
                s.Write(data);
            }
        return ms.ToArray();
    }

    internal static string Invariant(long v) => v.ToString(CultureInfo.InvariantCulture);
}
