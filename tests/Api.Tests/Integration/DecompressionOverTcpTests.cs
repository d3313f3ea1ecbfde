using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Text;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Compressed dataset uploads over TCP against Neural:MaxDecompressedBytes (8 MiB here): a gzip IDX and NPZ
/// members that expand past it, whether their headers say so or lie, are a 413 problem naming the limit, leave no
/// dataset folder and change nothing; a small compressed upload is still accepted.</summary>
public sealed class DecompressionOverTcpTests : IDisposable
{
    private const int Cap = 8 << 20;
    private readonly ServedModel _s = new(new Dictionary<string, string?> { ["Neural:MaxDecompressedBytes"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture) });

    public void Dispose() => _s.Dispose();

    private static MultipartFormDataContent Upload(byte[] file, string fileName, string name, string format)
    {
        var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(file), "file", fileName);
        form.Add(new StringContent(name), "name");
        form.Add(new StringContent(format), "format");
        return form;
    }

    /// <summary>An IDX uint8 file of <paramref name="dims"/>, all zeros, gzipped.</summary>
    private static byte[] GzipIdx(params int[] dims)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.SmallestSize))
        {
            gz.Write([0, 0, 0x08, (byte)dims.Length]);
            Span<byte> d = stackalloc byte[4];
            foreach (var n in dims) { BinaryPrimitives.WriteInt32BigEndian(d, n); gz.Write(d); }
            var zeros = new byte[1 << 20];
            for (long left = dims.Aggregate(1L, (p, n) => p * n); left > 0; left -= zeros.Length) gz.Write(zeros, 0, (int)Math.Min(left, zeros.Length));
        }
        return ms.ToArray();
    }

    /// <summary>A version 1.0 .npy of float32 zeros of <paramref name="count"/> elements.</summary>
    private static byte[] Npy(int count)
    {
        var dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({count},), }}";
        var header = dict + new string(' ', (64 - (10 + dict.Length + 1) % 64) % 64) + "\n";
        var bytes = new byte[10 + header.Length + 4L * count];
        bytes[0] = 0x93;
        Encoding.ASCII.GetBytes("NUMPY").CopyTo(bytes, 1);
        bytes[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header).CopyTo(bytes, 10);
        return bytes;
    }

    private static byte[] Npz(params (string Name, byte[] Data)[] members)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, data) in members)
            {
                using var s = zip.CreateEntry(name, CompressionLevel.SmallestSize).Open();
                s.Write(data);
            }
        return ms.ToArray();
    }

    /// <summary>Rewrites every uncompressed-size field (local headers and central directory) to <paramref name="size"/>.</summary>
    private static byte[] LieAboutSizes(byte[] zip, uint size)
    {
        var bytes = (byte[])zip.Clone();
        for (var i = 0; i + 4 <= bytes.Length; i++)
        {
            var signature = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(i));
            if (signature == 0x04034b50 && i + 26 <= bytes.Length) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 22), size);
            else if (signature == 0x02014b50 && i + 28 <= bytes.Length) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(i + 24), size);
        }
        return bytes;
    }

    private async Task AssertRefusedAsync(byte[] file, string fileName, string format)
    {
        var before = await _s.SnapshotAsync();
        var folders = Directory.GetDirectories(Path.Combine(_s.DataDirectory, "datasets"));
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync("/v1/datasets", Upload(file, fileName, "bomb", format)), 413);
        Assert.Contains($"{Cap}-byte limit on decompressed data", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain(_s.DataDirectory, problem.GetProperty("detail").GetString());
        Assert.Equal(folders, Directory.GetDirectories(Path.Combine(_s.DataDirectory, "datasets")));
        Assert.Equal(HttpStatusCode.NotFound, (await _s.Client.GetAsync("/v1/datasets/bomb")).StatusCode);
        before.AssertSame(await _s.SnapshotAsync());
    }

    [Fact]
    public async Task AGzipIdxThatExpandsPastTheLimitIsRefused()
    {
        var bomb = GzipIdx(1024, 256, 256); // 64 MiB of zeros
        Assert.InRange(bomb.Length, 1, 1 << 20);
        await AssertRefusedAsync(bomb, "images-idx3-ubyte.gz", "idx");
    }

    [Fact]
    public async Task AnNpzMemberWhoseZipHeaderUnderstatesItsSizeIsRefused()
    {
        // 16 MiB of deflated zeros whose zip headers claim 200 bytes.
        var bomb = LieAboutSizes(Npz(("x.npy", Npy(4 << 20))), 200);
        Assert.InRange(bomb.Length, 1, 1 << 20);
        await AssertRefusedAsync(bomb, "bomb.npz", "npz");
    }

    [Fact]
    public async Task NpzMembersCountTogetherAgainstTheLimit()
    {
        // Two members of 6 MiB each: either alone fits, both do not.
        var both = Npz(("x.npy", Npy(3 << 19)), ("y.npy", Npy(3 << 19)));
        await AssertRefusedAsync(both, "two.npz", "npz");
    }

    [Fact]
    public async Task ASmallCompressedUploadIsStillAccepted()
    {
        var response = await _s.Client.PostAsync("/v1/datasets", Upload(GzipIdx(10, 4, 4), "small-idx3-ubyte.gz", "small", "idx"));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var npz = await _s.Client.PostAsync("/v1/datasets", Upload(Npz(("x.npy", Npy(1000))), "small.npz", "small-npz", "npz"));
        Assert.Equal(HttpStatusCode.Created, npz.StatusCode);
    }
}
