using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Preprocessing;

public sealed class NormalizationTests
{
    [Fact]
    public void AdaptComputesPerFeatureStatisticsAndNormalizes()
    {
        const int n = 20, f = 3;
        var data = Reference.Random(n * f, 51, 3f).Select((v, i) => v + i % f).ToArray();
        var layer = new NeuralService.Graph.Layers.Normalization();
        layer.Adapt(data, n, f);
        Assert.Equal(f + f + 1, layer.CountParams());
        Assert.All(layer.Weights, w => Assert.False(w.Trainable));
        var mean = new double[f];
        var variance = new double[f];
        for (var j = 0; j < f; j++)
        {
            mean[j] = Enumerable.Range(0, n).Average(r => data[r * f + j]);
            variance[j] = Enumerable.Range(0, n).Average(r => Math.Pow(data[r * f + j] - mean[j], 2));
        }
        Reference.AssertClose(mean.Select(v => (float)v).ToArray(), layer.Weights[0].Data, what: "mean");
        Reference.AssertClose(variance.Select(v => (float)v).ToArray(), layer.Weights[1].Data, what: "variance");
        Assert.Equal(n, layer.Weights[2].Data[0]);
        var x = Reference.Random(4 * f, 52);
        var (y, _) = LayerRun.One(layer, x, [4, f]);
        Reference.AssertClose(x.Select((v, i) => (float)((v - mean[i % f]) / Math.Sqrt(variance[i % f]))).ToArray(), y, 1e-4);
    }

    [Fact]
    public void ConfigStatisticsAreConstantsAndInvertWorks()
    {
        var plain = new NeuralService.Graph.Layers.Normalization(mean: [1, 2], variance: [4, 0]);
        var inverted = new NeuralService.Graph.Layers.Normalization(mean: [1, 2], variance: [4, 0], invert: true);
        var x = Reference.Random(3 * 2, 53);
        var (y, _) = LayerRun.One(plain, x, [3, 2]);
        Assert.Equal(0, plain.CountParams());
        double[] m = [1, 2];
        double[] s = [2, 1e-7];
        Reference.AssertClose(x.Select((v, i) => (float)((v - m[i % 2]) / s[i % 2])).ToArray(), y, what: "normalized");
        var (z, _) = LayerRun.One(inverted, x, [3, 2]);
        Reference.AssertClose(x.Select((v, i) => (float)(m[i % 2] + v * s[i % 2])).ToArray(), z, what: "inverted");
    }

    [Fact]
    public void GlobalStatisticsWithAxisNone()
    {
        var layer = new NeuralService.Graph.Layers.Normalization(new NormalizationConfig { Axis = null });
        var data = Reference.Random(5 * 4, 54);
        layer.Adapt(data, 5, 4);
        Assert.Equal(3, layer.CountParams());
        var mean = data.Average(v => (double)v);
        Assert.Equal(mean, layer.Weights[0].Data[0], 5);
    }

    [Fact]
    public void Keras3ConfigImports()
    {
        var c = KerasJson.ReadConfig<NormalizationConfig>("""
            {"name": "normalization", "trainable": true, "dtype": "float32", "axis": [-1], "invert": false, "mean": [0.5, 1.5], "variance": [1.0, 4.0]}
            """);
        Assert.Equal([0.5, 1.5], new NeuralService.Graph.Layers.Normalization(c).Config.Mean!);
    }

    [Fact]
    public void MeanWithoutVarianceIsRejected() =>
        Assert.Throws<ArgumentException>(() => new NeuralService.Graph.Layers.Normalization(new NormalizationConfig { Mean = [1] }));
}
