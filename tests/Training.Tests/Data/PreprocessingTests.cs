using NeuralService.Training.Data;

namespace NeuralService.Training.Tests.Data;

public sealed class PreprocessingTests
{
    [Fact]
    public void ToCategoricalOneHot()
    {
        var y = Preprocessing.ToCategorical(DataArray.Vector(new byte[] { 0, 2, 1 }));
        Assert.Equal([3, 3], y.Shape);
        Assert.Equal(new float[] { 1, 0, 0, 0, 0, 1, 0, 1, 0 }, y.As<float>());
        var wide = Preprocessing.ToCategorical(DataArray.Create(new long[] { 1, 0 }, 2, 1), numClasses: 4);
        Assert.Equal([2, 4], wide.Shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => Preprocessing.ToCategorical(DataArray.Vector(new long[] { 5 }), 3));
    }

    [Fact]
    public void NormalizeL2AlongLastAxis()
    {
        var x = Preprocessing.Normalize(DataArray.Create(new[] { 3f, 4f, 0f, 0f }, 2, 2));
        Assert.Equal(new[] { 0.6f, 0.8f, 0f, 0f }, x.As<float>());
    }

    [Fact]
    public void RescaleBytes()
    {
        var x = Preprocessing.Rescale(DataArray.Vector(new byte[] { 0, 255 }), 1 / 255f);
        Assert.Equal(new[] { 0f, 1f }, x.As<float>());
    }
}
