using NeuralService.Training.Data;

namespace NeuralService.Training.Tests.Data;

public sealed class ScalersTests
{
    // Two features: [1, 10], [2, 10], [3, 10] (the second is constant).
    private static DataArray X => DataArray.Create(new[] { 1f, 10f, 2f, 10f, 3f, 10f }, 3, 2);

    [Fact]
    public void MinMaxScalesPerFeatureAndRoundTrips()
    {
        var s = new MinMaxScaler(-1, 1);
        var y = s.FitTransform(X);
        Assert.Equal(new[] { -1f, -1f, 0f, -1f, 1f, -1f }, y.As<float>());
        Assert.Equal(X.As<float>(), s.InverseTransform(y).As<float>());
        Assert.Equal([1.0, 10.0], s.DataMin);
    }

    [Fact]
    public void StandardUsesPopulationStd()
    {
        var s = new StandardScaler();
        var y = s.FitTransform(X).As<float>();
        double std = Math.Sqrt(2.0 / 3);
        Assert.Equal(-1 / std, y[0], 5);
        Assert.Equal(0, y[2], 5);
        Assert.Equal(0, y[1], 5); // constant feature: std treated as 1
        var back = s.InverseTransform(DataArray.Create(y, 3, 2)).As<float>();
        for (int i = 0; i < 6; i++) Assert.Equal(X.As<float>()[i], back[i], 5);
    }

    [Fact]
    public void FeatureCountMustMatchAndFitComesFirst()
    {
        var s = new StandardScaler();
        Assert.Throws<InvalidOperationException>(() => s.Transform(X));
        s.Fit(X);
        var e = Assert.Throws<ArgumentException>(() => s.Transform(DataArray.Create(new float[3], 1, 3)));
        Assert.Contains("3 features", e.Message);
    }
}
