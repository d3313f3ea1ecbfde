using System.IO.Compression;
using NeuralService.Training.Data;
using NeuralService.Training.Tests.Support;

namespace NeuralService.Training.Tests.Data;

/// <summary>Readers bound what a compressed file may expand to: declared sizes before allocating, NPZ members
/// together, and the bytes a member actually inflates to, whatever its headers say.</summary>
public sealed class DecompressedLimitTests
{
    private static DataArray Floats(int count) => DataArray.Zeros(DType.Float32, count);

    [Fact]
    public void Npz_members_count_together_against_the_limit()
    {
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "two.npz");
        Npz.Write(path, new Dictionary<string, DataArray> { ["x"] = Floats(1000), ["y"] = Floats(1000) }, compress: true);
        Assert.Equal(2, Npz.Read(path, maxBytes: 8400).Count);
        var e = Assert.Throws<DataTooLargeException>(() => Npz.Read(path, maxBytes: 6000));
        Assert.Contains("6000-byte limit on decompressed data", e.Message);
    }

    [Fact]
    public void An_npz_member_is_bounded_by_its_zip_size_even_when_its_npy_header_declares_no_data()
    {
        // A version 2 .npy whose header alone is 4 MB of deflated spaces: no array size to check.
        using var dir = new TempDir();
        var path = Path.Combine(dir.Path, "header.npz");
        var npy = NpyTests.HandMade("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }" + new string(' ', 4_000_000), new byte[4], major: 2);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("x.npy", CompressionLevel.SmallestSize).Open())
            s.Write(npy);
        Assert.True(new FileInfo(path).Length < 100_000);
        Assert.Single(Npz.Read(path, maxBytes: 8 << 20));
        // The zip headers say 4 MB: refused before inflating.
        Assert.Contains("the archive declares", Assert.Throws<DataTooLargeException>(() => Npz.Read(path, maxBytes: 1 << 20)).Message);
        // The zip headers lie (500 KB): the zip reader inflates no more than the header says, so the member ends early.
        LieAboutSizes(path, 500_000);
        Assert.Contains("file ends early (499988 of", Assert.Throws<DataFormatException>(() => Npz.Read(path, maxBytes: 1 << 20)).Message);
    }

    [Fact]
    public void A_stream_inflating_past_its_limit_is_stopped()
    {
        using var packed = new MemoryStream();
        using (var gz = new GZipStream(packed, CompressionLevel.SmallestSize, leaveOpen: true)) gz.Write(new byte[4 << 20]);
        packed.Position = 0;
        using var limited = new LimitedReadStream(new GZipStream(packed, CompressionMode.Decompress), 1 << 20, "bomb.gz");
        var e = Assert.Throws<DataTooLargeException>(() => limited.CopyTo(Stream.Null));
        Assert.Contains("bomb.gz: expands to more than 1048576 bytes", e.Message);
        Assert.Equal((1 << 20) + 1, limited.BytesRead);

        packed.Position = 0;
        using var exact = new LimitedReadStream(new GZipStream(packed, CompressionMode.Decompress), 4 << 20, "ok.gz");
        exact.CopyTo(Stream.Null);
        Assert.Equal(4 << 20, exact.BytesRead);
    }

    /// <summary>Rewrites every uncompressed-size field (local headers and central directory) of a zip.</summary>
    private static void LieAboutSizes(string path, uint size)
    {
        var bytes = File.ReadAllBytes(path);
        for (var i = 0; i + 30 <= bytes.Length; i++)
        {
            var signature = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i));
            if (signature == 0x04034b50) System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 22), size);
            else if (signature == 0x02014b50) System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 24), size);
        }
        File.WriteAllBytes(path, bytes);
    }
}
