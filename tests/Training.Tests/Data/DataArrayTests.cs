using NeuralService.Training.Data;

namespace NeuralService.Training.Tests.Data;

public sealed class DataArrayTests
{
    [Fact]
    public void TakeGathersWholeSamplesInOrder()
    {
        var a = DataArray.Create(Enumerable.Range(0, 12).Select(i => (byte)i).ToArray(), 4, 3);
        var t = a.Take([2, 0]);
        Assert.Equal([2, 3], t.Shape);
        Assert.Equal(new byte[] { 6, 7, 8, 0, 1, 2 }, t.As<byte>());
        Assert.Equal(DType.UInt8, t.DType);
    }

    [Fact]
    public void CopyToConvertsIntoTheStartOfALargerBuffer()
    {
        var bytes = DataArray.Create(new byte[] { 0, 7, 255 }, 3);
        var floats = new float[5];
        bytes.CopyTo(floats);
        Assert.Equal(new[] { 0f, 7f, 255f, 0f, 0f }, floats);
        var longs = new long[3];
        DataArray.Vector(new[] { -1.5f, 2.9f, 3f }).CopyTo(longs);
        Assert.Equal(new long[] { -1, 2, 3 }, longs);
        var e = Assert.Throws<ArgumentException>(() => bytes.CopyTo(new float[2]));
        Assert.Contains("holds 2 values, the array 3", e.Message);
    }

    [Fact]
    public void IndexOfNonFiniteFindsNaNInfinityAndDoublesBeyondFloat()
    {
        Assert.Equal(-1, DataArray.Vector(new[] { 1f, -2f }).IndexOfNonFinite());
        Assert.Equal(1, DataArray.Vector(new[] { 1f, float.NaN, float.PositiveInfinity }).IndexOfNonFinite());
        Assert.Equal(2, DataArray.Vector(new[] { 0.0, -1e30, 1e300 }).IndexOfNonFinite());
        Assert.Equal(-1, DataArray.Vector(new byte[] { 255 }).IndexOfNonFinite());
    }

    [Fact]
    public void ShapeMismatchIsRejectedWithTheShape()
    {
        var e = Assert.Throws<ArgumentException>(() => DataArray.Create(new float[5], 2, 3));
        Assert.Contains("[2, 3]", e.Message);
    }

    [Fact]
    public void CastConvertsValues()
    {
        var a = DataArray.Vector(new int[] { -3, 0, 7 });
        Assert.Equal(new[] { -3f, 0f, 7f }, a.ToFloat32());
        Assert.Equal(new long[] { -3, 0, 7 }, a.Cast(DType.Int64).As<long>());
        Assert.Equal(new[] { true, false, true }, a.Cast(DType.Bool).As<bool>());
    }

    [Fact]
    public void ConcatAndReshape()
    {
        var a = DataArray.Create(new[] { 1f, 2f }, 1, 2);
        var b = DataArray.Create(new[] { 3f, 4f, 5f, 6f }, 2, 2);
        var c = DataArray.Concat([a, b]);
        Assert.Equal([3, 2], c.Shape);
        Assert.Equal([6], c.Reshape(-1).Shape);
        Assert.Equal(new[] { 5f, 6f }, c.Slice(2, 1).As<float>());
    }
}
