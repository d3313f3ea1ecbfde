using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using ActivationLayer = NeuralService.Graph.Layers.Activation;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers;

public sealed class ActivationsTests
{
    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));
    private static double Softplus(double x) => Math.Log(1 + Math.Exp(x));

    private static double Erf(double x)
    {
        // Simpson's rule on 2/√π·e^(−t²) over [0, x]: exact to ~1e-12 for the inputs used here.
        const int n = 4000;
        var h = x / n;
        double sum = 1 + Math.Exp(-x * x);
        for (var i = 1; i < n; i++) sum += (i % 2 == 1 ? 4 : 2) * Math.Exp(-(i * h) * (i * h));
        return 2 / Math.Sqrt(Math.PI) * sum * h / 3;
    }

    /// <summary>Plain formulas of Keras's activations (elementwise ones).</summary>
    public static double Formula(string name, double x) => name switch
    {
        "linear" => x,
        "relu" => Math.Max(0, x),
        "sigmoid" => Sigmoid(x),
        "tanh" => Math.Tanh(x),
        "elu" => x > 0 ? x : Math.Exp(x) - 1,
        "selu" => 1.0507009873554805 * (x > 0 ? x : 1.6732632423543772 * (Math.Exp(x) - 1)),
        "leaky_relu" => x >= 0 ? x : 0.2 * x,
        "softplus" => Softplus(x),
        "softsign" => x / (1 + Math.Abs(x)),
        "swish" or "silu" => x * Sigmoid(x),
        "hard_sigmoid" => Math.Clamp(x / 6 + 0.5, 0, 1),
        "hard_silu" or "hard_swish" => x * Math.Clamp(x / 6 + 0.5, 0, 1),
        "exponential" => Math.Exp(x),
        "relu6" => Math.Clamp(x, 0, 6),
        "mish" => x * Math.Tanh(Softplus(x)),
        "gelu" => 0.5 * x * (1 + Erf(x / Math.Sqrt(2))),
        _ => throw new ArgumentException(name),
    };

    [Fact]
    public void EveryActivationMatchesItsFormula()
    {
        const int rows = 2, cols = 5;
        var names = Activations.Names.Order().ToList();
        var input = Input.Of(cols);
        var model = new Functional([input], names.Select(n => new ActivationLayer(n).Apply(input)).ToList());
        var x = Reference.Random(rows * cols, 7, 8f);
        var outputs = LayerRun.Model(model, null, (x, [rows, cols]));
        for (var k = 0; k < names.Count; k++)
        {
            var name = names[k];
            Assert.Equal([rows, cols], outputs[k].Dims);
            float[] expected = name switch
            {
                "softmax" => Reference.Softmax(x, rows, cols),
                "log_softmax" => Reference.Softmax(x, rows, cols).Select(v => MathF.Log(v)).ToArray(),
                _ => x.Select(v => (float)Formula(name, v)).ToArray(),
            };
            Reference.AssertClose(expected, outputs[k].Data, what: name);
        }
    }

    [Fact]
    public void NamesAreNormalized()
    {
        Assert.Equal("linear", Activations.Check(null));
        Assert.Equal("linear", Activations.Check("None"));
        Assert.Equal("relu", Activations.Check("ReLU"));
    }

    [Fact]
    public void UnknownActivationIsRejectedQuotingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => Activations.Check("reluu"));
        Assert.Contains("'reluu'", e.Message);
    }
}
