using System.Buffers.Binary;
using System.IO.Compression;
using NeuralService.Training.Data;
using NeuralService.Training.Tests.Support;

namespace NeuralService.Training.Tests.Data;

public sealed class IdxTests
{
    /// <summary>An IDX file built byte by byte, independent of <see cref="Idx.Write(Stream, DataArray)"/>.</summary>
    private static byte[] HandMade(byte type, int[] dims, byte[] bigEndianData)
    {
        var bytes = new List<byte> { 0, 0, type, (byte)dims.Length };
        foreach (var d in dims)
        {
            var b = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(b, d);
            bytes.AddRange(b);
        }
        bytes.AddRange(bigEndianData);
        return bytes.ToArray();
    }

    [Fact]
    public void ReadsGzippedUbyteImages()
    {
        using var dir = new TempDir();
        var path = dir.File("images-idx3-ubyte.gz");
        var pixels = Enumerable.Range(0, 2 * 3 * 2).Select(i => (byte)(i * 20)).ToArray();
        using (var gz = new GZipStream(File.Create(path), CompressionLevel.Fastest))
            gz.Write(HandMade(0x08, [2, 3, 2], pixels));
        var a = Idx.Read(path);
        Assert.Equal(DType.UInt8, a.DType);
        Assert.Equal([2, 3, 2], a.Shape);
        Assert.Equal(pixels, a.As<byte>());
    }

    [Fact]
    public void ReadsBigEndianIntAndFloatRaw()
    {
        using var dir = new TempDir();
        var ints = dir.File("ints.idx");
        File.WriteAllBytes(ints, HandMade(0x0C, [2], [0x00, 0x00, 0x01, 0x02, 0xFF, 0xFF, 0xFF, 0xFE]));
        Assert.Equal(new[] { 258, -2 }, Idx.Read(ints).As<int>());

        var floats = dir.File("floats.idx");
        var f = new byte[4];
        BinaryPrimitives.WriteSingleBigEndian(f, 1.5f);
        File.WriteAllBytes(floats, HandMade(0x0D, [1, 1], f));
        Assert.Equal(new[] { 1.5f }, Idx.Read(floats).As<float>());
    }

    [Theory]
    [InlineData(DType.UInt8)]
    [InlineData(DType.Int8)]
    [InlineData(DType.Int16)]
    [InlineData(DType.Int32)]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void WriteThenReadRoundTrips(DType dtype)
    {
        using var dir = new TempDir();
        var src = DataArray.Create(new float[] { 0, 1, 2, 100, 5, 6 }, 3, 2).Cast(dtype);
        var path = dir.File("x.idx.gz");
        Idx.Write(path, src);
        var back = Idx.Read(path);
        Assert.Equal(dtype, back.DType);
        Assert.Equal(src.ToFloat32(), back.ToFloat32());
    }

    [Fact]
    public void TruncatedAndForeignFilesFailClearly()
    {
        using var dir = new TempDir();
        var cut = dir.File("cut.idx");
        File.WriteAllBytes(cut, HandMade(0x08, [4, 2], [1, 2, 3]));
        Assert.Contains("ends early", Assert.Throws<DataFormatException>(() => Idx.Read(cut)).Message);
        var png = dir.File("x.png");
        File.WriteAllBytes(png, [0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 0]);
        Assert.Contains("not an IDX file", Assert.Throws<DataFormatException>(() => Idx.Read(png)).Message);
    }

    [Fact]
    public void IdxDatasetStreamsScaledImagesWithLabels()
    {
        using var dir = new TempDir();
        var images = dir.File("img.gz");
        var labels = dir.File("lab.gz");
        Idx.Write(images, DataArray.Create(Enumerable.Range(0, 5 * 4).Select(i => (byte)i).ToArray(), 5, 2, 2));
        Idx.Write(labels, DataArray.Vector(new byte[] { 4, 3, 2, 1, 0 }));
        var ds = new IdxDataset(images, labels, batchSize: 2, scale: 0.5f);
        var batches = ds.GetBatches().ToList();
        Assert.Equal(3, ds.BatchCount);
        Assert.Equal([2, 2, 2], batches[0].Features.Shape);
        Assert.Equal(new[] { 0f, 0.5f, 1f, 1.5f, 2f, 2.5f, 3f, 3.5f }, batches[0].Features.As<float>());
        Assert.Equal(new long[] { 0 }, batches[2].Labels!.As<long>());
        Assert.InRange(ds.PeakHeldSamples, 1, 2);
    }
}
