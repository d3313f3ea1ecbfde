using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;
using ActivationLayer = NeuralService.Graph.Layers.Activation;

namespace NeuralService.Graph.Tests.Layers.Activation;

public sealed class ActivationLayerTests
{
    private static readonly float[] X = Reference.Random(3 * 8, 21, 4f);

    private static void AssertElementwise(Layer layer, Func<double, double> f)
    {
        var (y, dims) = LayerRun.One(layer, X, [3, 8]);
        Assert.Equal([3, 8], dims);
        Reference.AssertClose(X.Select(v => (float)f(v)).ToArray(), y, what: layer.ClassName);
    }

    /// <summary>Keras's ReLU: threshold and negative slope below, capped at max_value above.</summary>
    private static double Relu(double x, double? max, double slope, double t)
    {
        var pos = x > t ? x : 0;
        if (max is { } m) pos = Math.Clamp(pos, 0, m);
        return pos - slope * Math.Max(0, t - x);
    }

    [Fact]
    public void ActivationLayerAppliesTheNamedFunction() =>
        AssertElementwise(new ActivationLayer("softsign"), x => x / (1 + Math.Abs(x)));

    [Fact]
    public void ReLUFollowsKerasFormula()
    {
        (double? Max, double Slope, double T)[] cases = [(null, 0, 0), (2, 0, 0), (6, 0, 0), (null, 0.1, 0), (3, 0.2, 0.5), (null, 0, 1), (null, 0.3, -0.5)];
        var input = Input.Of(8);
        var model = new NeuralService.Graph.Models.Functional([input], cases.Select(c => new ReLU(c.Max, c.Slope, c.T).Apply(input)).ToList());
        var outs = LayerRun.Model(model, null, (X, [3, 8]));
        for (var k = 0; k < cases.Length; k++)
        {
            var (max, slope, t) = cases[k];
            Reference.AssertClose(X.Select(v => (float)Relu(v, max, slope, t)).ToArray(), outs[k].Data, what: $"ReLU({max}, {slope}, {t})");
        }
    }

    [Fact]
    public void LeakyReLUDefaultsToKeras3Slope()
    {
        Assert.Equal(0.3, new LeakyReLU().Slope);
        AssertElementwise(new LeakyReLU(0.1), x => x >= 0 ? x : 0.1 * x);
    }

    [Fact]
    public void LeakyReLUReadsKeras2Alpha()
    {
        var c = KerasJson.ReadConfig<LeakyReLUConfig>("""{"name": "lr", "trainable": true, "dtype": "float32", "alpha": 0.05}""");
        Assert.Equal(0.05, new LeakyReLU(c).Slope);
    }

    [Fact]
    public void ELUUsesAlpha() => AssertElementwise(new ELU(0.7), x => x > 0 ? x : 0.7 * (Math.Exp(x) - 1));

    [Fact]
    public void PReLUHasKerasParamCountAndSlopePerFeature()
    {
        var layer = new PReLU();
        var x = Reference.Random(2 * 3 * 4, 5);
        var input = Input.Of(3, 4);
        var model = new NeuralService.Graph.Models.Functional(input, layer.Apply(input));
        Assert.Equal(12, layer.CountParams());
        layer.Weights[0].Assign(Reference.Random(12, 6));
        var (y, _) = LayerRun.Model(model, null, (x, [2, 3, 4]))[0];
        var alpha = layer.Weights[0].Data;
        Reference.AssertClose(x.Select((v, i) => v >= 0 ? v : alpha[i % 12] * v).ToArray(), y);
    }

    [Fact]
    public void PReLUSharedAxesShrinkAlpha()
    {
        var layer = new PReLU([1, 2]);
        var x = Reference.Random(2 * 3 * 4 * 5, 8);
        var input = Input.Of(3, 4, 5);
        var model = new NeuralService.Graph.Models.Functional(input, layer.Apply(input));
        Assert.Equal(5, layer.CountParams());
        Assert.Equal([1L, 1, 5], layer.Weights[0].Shape);
        layer.Weights[0].Assign([0.1f, 0.2f, 0.3f, 0.4f, 0.5f]);
        var (y, _) = LayerRun.Model(model, null, (x, [2, 3, 4, 5]))[0];
        Reference.AssertClose(x.Select((v, i) => v >= 0 ? v : 0.1f * (i % 5 + 1) * v).ToArray(), y);
    }

    [Fact]
    public void SoftmaxOnAxisOne()
    {
        var x = Reference.Random(2 * 3 * 4, 9);
        var (y, dims) = LayerRun.One(new Softmax(1), x, [2, 3, 4]);
        Assert.Equal([2, 3, 4], dims);
        var expected = new float[x.Length];
        for (var b = 0; b < 2; b++)
            for (var k = 0; k < 4; k++)
            {
                var sum = Enumerable.Range(0, 3).Sum(j => Math.Exp(x[b * 12 + j * 4 + k]));
                for (var j = 0; j < 3; j++) expected[b * 12 + j * 4 + k] = (float)(Math.Exp(x[b * 12 + j * 4 + k]) / sum);
            }
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void SoftmaxOverTwoAxes()
    {
        var x = Reference.Random(2 * 3 * 4, 10);
        var (y, _) = LayerRun.One(new Softmax(new SoftmaxConfig { Axis = [1, 2] }), x, [2, 3, 4]);
        var expected = new float[x.Length];
        for (var b = 0; b < 2; b++)
        {
            var sum = Enumerable.Range(0, 12).Sum(j => Math.Exp(x[b * 12 + j]));
            for (var j = 0; j < 12; j++) expected[b * 12 + j] = (float)(Math.Exp(x[b * 12 + j]) / sum);
        }
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void ConstructorsRejectBadValuesQuotingThem()
    {
        Assert.Contains("'swoosh'", Assert.Throws<ArgumentException>(() => new ActivationLayer("swoosh")).Message);
        Assert.Contains("-1", Assert.Throws<ArgumentException>(() => new ReLU(maxValue: -1)).Message);
        Assert.Contains("-0.5", Assert.Throws<ArgumentException>(() => new ReLU(negativeSlope: -0.5)).Message);
        Assert.Contains("-2", Assert.Throws<ArgumentException>(() => new LeakyReLU(-2)).Message);
        Assert.Contains("0", Assert.Throws<ArgumentException>(() => new PReLU([0])).Message);
    }
}
