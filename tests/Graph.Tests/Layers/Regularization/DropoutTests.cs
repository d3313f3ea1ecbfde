using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Regularization;

public sealed class DropoutTests
{
    private const int Rows = 50, Cols = 40;
    private static readonly float[] X = Enumerable.Range(0, Rows * Cols).Select(i => 1f + i % 7).ToArray();

    [Fact]
    public void InferenceIsIdentity()
    {
        var layers = new Layer[] { new Dropout(0.5), new GaussianNoise(1), new GaussianDropout(0.3), new ActivityRegularization(0.1, 0.1) };
        foreach (var layer in layers)
        {
            var (y, _) = LayerRun.One(layer, X, [Rows, Cols]);
            Reference.AssertClose(X, y, what: layer.ClassName);
        }
    }

    [Fact]
    public void TrainingDropsAboutRateAndScalesTheRest()
    {
        var (y, dims) = LayerRun.One(new Dropout(0.25), X, [Rows, Cols], training: true, seed: 3);
        Assert.Equal([Rows, Cols], dims);
        var zeros = y.Count(v => v == 0);
        Assert.InRange(zeros / (double)y.Length, 0.20, 0.30);
        for (var i = 0; i < y.Length; i++)
            if (y[i] != 0) Assert.Equal(X[i] / 0.75f, y[i], 4);
    }

    [Fact]
    public void NoiseShapeDropsWholeColumns()
    {
        var (y, _) = LayerRun.One(new Dropout(0.5, [1, null]), X, [Rows, Cols], training: true, seed: 4);
        var droppedColumns = 0;
        for (var c = 0; c < Cols; c++)
        {
            var column = Enumerable.Range(0, Rows).Select(r => y[r * Cols + c]).ToList();
            var dropped = column.All(v => v == 0);
            if (dropped) droppedColumns++;
            else for (var r = 0; r < Rows; r++) Assert.Equal(X[r * Cols + c] * 2, column[r], 4);
        }
        Assert.InRange(droppedColumns, 8, 32);
    }

    [Fact]
    public void SpatialDropout1DDropsWholeChannels()
    {
        var x = Enumerable.Range(0, 4 * 10 * 16).Select(i => 1f + i % 5).ToArray();
        var (y, _) = LayerRun.One(new SpatialDropout1D(0.5), x, [4, 10, 16], training: true, seed: 5);
        var dropped = 0;
        for (var b = 0; b < 4; b++)
            for (var c = 0; c < 16; c++)
            {
                var values = Enumerable.Range(0, 10).Select(t => y[(b * 10 + t) * 16 + c]).ToList();
                if (values.All(v => v == 0)) dropped++;
                else Assert.All(Enumerable.Range(0, 10), t => Assert.Equal(x[(b * 10 + t) * 16 + c] * 2, values[t], 4));
            }
        Assert.InRange(dropped, 16, 48);
    }

    /// <summary>Each (image, channel) is dropped whole (all H·W positions zero) with probability rate; the kept ones are
    /// x/(1 − rate) everywhere. 32·16 = 512 mask cells at rate 0.3: the dropped fraction is within ±4.5σ (σ ≈ 0.02).</summary>
    [Fact]
    public void SpatialDropout2DDropsWholeChannelsAtTheRateAndScalesTheKeptOnes()
    {
        const int batch = 32, side = 3, channels = 16;
        const double rate = 0.3;
        var x = Enumerable.Range(0, batch * side * side * channels).Select(i => 1f + i % 3).ToArray();
        var (y, dims) = LayerRun.One(new SpatialDropout2D(rate), x, [batch, side, side, channels], training: true, seed: 6);
        Assert.Equal([batch, side, side, channels], dims);
        var dropped = 0;
        for (var b = 0; b < batch; b++)
            for (var c = 0; c < channels; c++)
            {
                var at = Enumerable.Range(0, side * side).Select(p => (b * side * side + p) * channels + c).ToList();
                if (y[at[0]] == 0)
                {
                    Assert.All(at, i => Assert.Equal(0f, y[i]));
                    dropped++;
                }
                else Assert.All(at, i => Assert.Equal(x[i] / (1 - rate), y[i], 4));
            }
        Assert.InRange(dropped / (double)(batch * channels), rate - 0.09, rate + 0.09);
    }

    [Fact]
    public void SpatialDropout2DChannelsFirstDropsWholeChannels()
    {
        var x = Enumerable.Range(0, 8 * 4 * 2 * 2).Select(i => 1f + i % 5).ToArray();
        var layer = new SpatialDropout2D(new SpatialDropoutConfig { Rate = 0.5, DataFormat = "channels_first" });
        var (y, _) = LayerRun.One(layer, x, [8, 4, 2, 2], training: true, seed: 9);
        var dropped = 0;
        for (var plane = 0; plane < 8 * 4; plane++)
        {
            var values = y.Skip(plane * 4).Take(4).ToArray();
            if (values.All(v => v == 0)) dropped++;
            else for (var p = 0; p < 4; p++) Assert.Equal(x[plane * 4 + p] * 2, values[p], 4);
        }
        Assert.InRange(dropped, 6, 26);
    }

    [Fact]
    public void GaussianNoiseAddsNoiseOfTheGivenStddev()
    {
        var (y, _) = LayerRun.One(new GaussianNoise(0.5), X, [Rows, Cols], training: true, seed: 7);
        var noise = y.Select((v, i) => (double)v - X[i]).ToArray();
        var mean = noise.Average();
        var std = Math.Sqrt(noise.Select(n => (n - mean) * (n - mean)).Average());
        Assert.InRange(mean, -0.05, 0.05);
        Assert.InRange(std, 0.45, 0.55);
    }

    [Fact]
    public void GaussianDropoutMultipliesByNoiseAroundOne()
    {
        var (y, _) = LayerRun.One(new GaussianDropout(0.2), X, [Rows, Cols], training: true, seed: 8);
        var factors = y.Select((v, i) => (double)v / X[i]).ToArray();
        var mean = factors.Average();
        var std = Math.Sqrt(factors.Select(f => (f - mean) * (f - mean)).Average());
        Assert.InRange(mean, 0.95, 1.05);
        Assert.InRange(std, 0.45, 0.55); // √(0.2 / 0.8) = 0.5
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    public void BadRatesAreRejectedQuotingThem(double rate)
    {
        var text = rate.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Contains(text, Assert.Throws<ArgumentException>(() => new Dropout(rate)).Message);
        Assert.Contains(text, Assert.Throws<ArgumentException>(() => new SpatialDropout2D(rate)).Message);
        Assert.Contains(text, Assert.Throws<ArgumentException>(() => new GaussianDropout(rate)).Message);
    }
}
