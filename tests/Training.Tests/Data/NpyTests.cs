using System.Text;
using NeuralService.Training.Data;
using NeuralService.Training.Tests.Support;

namespace NeuralService.Training.Tests.Data;

public sealed class NpyTests
{
    /// <summary>A .npy file built by hand: magic, version, header length (2 or 4 bytes), dict, data.</summary>
    internal static byte[] HandMade(string dict, byte[] data, int major = 1)
    {
        var header = Encoding.UTF8.GetBytes(dict + "\n");
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', (byte)major, 0 };
        if (major == 1) bytes.AddRange(BitConverter.GetBytes((ushort)header.Length));
        else bytes.AddRange(BitConverter.GetBytes((uint)header.Length));
        bytes.AddRange(header);
        bytes.AddRange(data);
        return bytes.ToArray();
    }

    public static TheoryData<string, DType, byte[], double[]> Dtypes => new()
    {
        { "<f4", DType.Float32, [.. BitConverter.GetBytes(1.5f), .. BitConverter.GetBytes(-2f)], [1.5, -2] },
        { "<f8", DType.Float64, [.. BitConverter.GetBytes(0.1), .. BitConverter.GetBytes(3.0)], [0.1, 3] },
        { "|i1", DType.Int8, [0xFF, 0x05], [-1, 5] },
        { "<i2", DType.Int16, [0x00, 0x80, 0x01, 0x00], [-32768, 1] },
        { "<i4", DType.Int32, [.. BitConverter.GetBytes(-7), .. BitConverter.GetBytes(70000)], [-7, 70000] },
        { "<i8", DType.Int64, [.. BitConverter.GetBytes(-1L), .. BitConverter.GetBytes(1L << 40)], [-1, 1L << 40] },
        { "|u1", DType.UInt8, [0xFF, 0x00], [255, 0] },
        { "<u2", DType.UInt16, [0xFF, 0xFF, 0x02, 0x00], [65535, 2] },
        { "<u4", DType.UInt32, [.. BitConverter.GetBytes(4000000000u), .. BitConverter.GetBytes(3u)], [4000000000, 3] },
        { "<u8", DType.UInt64, [.. BitConverter.GetBytes(5UL), .. BitConverter.GetBytes(6UL)], [5, 6] },
        { "|b1", DType.Bool, [0x01, 0x00], [1, 0] },
    };

    [Theory]
    [MemberData(nameof(Dtypes))]
    public void ReadsEveryNumericDtype(string descr, DType dtype, byte[] data, double[] expected)
    {
        var bytes = HandMade($"{{'descr': '{descr}', 'fortran_order': False, 'shape': (2,), }}", data);
        var a = Npy.Read(new MemoryStream(bytes));
        Assert.Equal(dtype, a.DType);
        Assert.Equal([2], a.Shape);
        Assert.Equal(expected, Enumerable.Range(0, 2).Select(i => a.GetDouble(i)));
    }

    [Theory]
    [MemberData(nameof(Dtypes))]
    public void WriterRoundTripsEveryDtype(string descr, DType dtype, byte[] data, double[] expected)
    {
        _ = descr;
        var a = Npy.Read(new MemoryStream(HandMade($"{{'descr': '{Npy.Descr(dtype)}', 'fortran_order': False, 'shape': (1, 2), }}", data)));
        var ms = new MemoryStream();
        Npy.Write(ms, a);
        Assert.Equal(0, (ms.Length - data.Length) % 64); // data starts 64-byte aligned, as NumPy writes it
        var back = Npy.Read(new MemoryStream(ms.ToArray()));
        Assert.Equal([1, 2], back.Shape);
        Assert.Equal(expected, Enumerable.Range(0, 2).Select(i => back.GetDouble(i)));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void ReadsVersion2And3Headers(int major)
    {
        var data = new byte[] { 1, 2, 3, 4, 5, 6 };
        var a = Npy.Read(new MemoryStream(HandMade("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", data, major)));
        Assert.Equal([2, 3], a.Shape);
        Assert.Equal(data, a.As<byte>());
    }

    [Fact]
    public void BigEndianIsSwapped()
    {
        var a = Npy.Read(new MemoryStream(HandMade("{'descr': '>i4', 'fortran_order': False, 'shape': (1,), }", [0, 0, 1, 2])));
        Assert.Equal(new[] { 258 }, a.As<int>());
    }

    [Fact]
    public void FortranOrderIsRefused()
    {
        var bytes = HandMade("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1), }", BitConverter.GetBytes(1f));
        var e = Assert.Throws<DataFormatException>(() => Npy.Read(new MemoryStream(bytes), "f.npy"));
        Assert.Contains("fortran_order=True", e.Message);
    }

    [Fact]
    public void PickledObjectArraysAreRefusedWithoutReadingThem()
    {
        // A pickle that would call os.system if unpickled; it must never be interpreted.
        var pickle = Encoding.ASCII.GetBytes("cos\nsystem\n(S'echo pwned'\ntR.");
        var bytes = HandMade("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", pickle);
        var e = Assert.Throws<DataFormatException>(() => Npy.Read(new MemoryStream(bytes), "x_train.npy"));
        Assert.Contains("pickle", e.Message);
        Assert.Contains("'|O'", e.Message);
    }

    [Fact]
    public void UnknownDtypeAndBadMagicFail()
    {
        var c = HandMade("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new byte[8]);
        Assert.Contains("'<c8'", Assert.Throws<DataFormatException>(() => Npy.Read(new MemoryStream(c))).Message);
        Assert.Contains("magic", Assert.Throws<DataFormatException>(() => Npy.Read(new MemoryStream(new byte[16]))).Message);
    }

    [Fact]
    public void ScalarGetsASampleAxisAndFilesWork()
    {
        using var dir = new TempDir();
        var path = dir.File("s.npy");
        File.WriteAllBytes(path, HandMade("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", BitConverter.GetBytes(2.5)));
        var a = Npy.Read(path);
        Assert.Equal([1], a.Shape);
        Assert.Equal(2.5, a.GetDouble(0));
    }
}
