using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Core;

public sealed class LambdaTests
{
    private static readonly float[] X = Reference.Random(2 * 3, 41, 2f);

    private static void AssertElementwise(string expression, Func<double, double> f)
    {
        var (y, dims) = LayerRun.One(new Lambda(expression), X, [2, 3]);
        Assert.Equal([2, 3], dims);
        Reference.AssertClose(X.Select(v => (float)f(v)).ToArray(), y, what: expression);
    }

    [Fact]
    public void ArithmeticWithPrecedence() => AssertElementwise("x * 2 + 1 - x / 4", x => x * 2 + 1 - x / 4);

    [Fact]
    public void PowerAndUnaryMinusFollowPython() => AssertElementwise("-x ** 2 + (x + 1) ** 3", x => -(x * x) + Math.Pow(x + 1, 3));

    [Fact]
    public void FunctionsAndActivations() =>
        AssertElementwise("relu(x) - tanh(x) + sigmoid(x) * exp(-abs(x)) + square(x) + sqrt(abs(x) + 1e-3) + log(abs(x) + 1)",
            x => Math.Max(0, x) - Math.Tanh(x) + 1 / (1 + Math.Exp(-x)) * Math.Exp(-Math.Abs(x)) + x * x + Math.Sqrt(Math.Abs(x) + 1e-3) + Math.Log(Math.Abs(x) + 1));

    [Fact]
    public void BinaryFunctionsAndClip() =>
        AssertElementwise("maximum(x, 0.5) + minimum(x, -0.5) + clip(x, -1, 1)", x => Math.Max(x, 0.5) + Math.Min(x, -0.5) + Math.Clamp(x, -1, 1));

    [Fact]
    public void ReductionsDropOrKeepTheAxis()
    {
        var (mean, mdims) = LayerRun.One(new Lambda("mean(x, 1)"), X, [2, 3]);
        Assert.Equal([2], mdims);
        Reference.AssertClose([(X[0] + X[1] + X[2]) / 3, (X[3] + X[4] + X[5]) / 3], mean);
        var (sum, sdims) = LayerRun.One(new Lambda("sum(x, -1, 1) + max(x, 1, 1)"), X, [2, 3]);
        Assert.Equal([2, 1], sdims);
        Reference.AssertClose([X[0] + X[1] + X[2] + X[..3].Max(), X[3] + X[4] + X[5] + X[3..].Max()], sum);
    }

    [Fact]
    public void TransposeSwapsAxes()
    {
        var x = Reference.Random(2 * 3 * 4, 3);
        var (y, dims) = LayerRun.One(new Lambda("transpose(x, 1, 2)"), x, [2, 3, 4]);
        Assert.Equal([2, 4, 3], dims);
        for (var b = 0; b < 2; b++)
            for (var i = 0; i < 3; i++)
                for (var j = 0; j < 4; j++)
                    Assert.Equal(x[(b * 3 + i) * 4 + j], y[(b * 4 + j) * 3 + i]);
    }

    [Fact]
    public void SeveralInputsAreIndexed()
    {
        var b = Reference.Random(6, 42);
        var (y, _) = LayerRun.Many(new Lambda("x[0] * x[1] + x[1]"), (X, [2, 3]), (b, [2, 3]));
        Reference.AssertClose(X.Select((a, i) => a * b[i] + b[i]).ToArray(), y);
    }

    [Theory]
    [InlineData("x +", "end of expression")]
    [InlineData("foo(x)", "'foo'")]
    [InlineData("x ; 1", "';'")]
    [InlineData("mean(x, 1, 2, 3)", "mean takes 1 to 3")]
    [InlineData("__import__('os')", "'__import__'")]
    [InlineData("x[-1]", "non-negative integer")]
    public void ParseErrorsQuoteTheExpression(string expression, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => new Lambda(expression));
        Assert.Contains(expected, e.Message);
        Assert.Contains(expression, e.Message);
    }

    [Fact]
    public void PlainXWithSeveralInputsIsAnError()
    {
        var e = Assert.ThrowsAny<Exception>(() => new Lambda("x + 1").Apply(Input.Of(3), Input.Of(3)));
        Assert.Contains("x[0]", e.Message);
    }

    [Fact]
    public void Keras3PythonLambdaIsRejected()
    {
        var c = KerasJson.ReadConfig<LambdaConfig>("""
            {"name": "lam", "trainable": true, "dtype": "float32",
             "function": {"class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAADAAAAQwAAAHMIAAAAfABkARQAUwApAk7pAgAAAKkAKQHaAXhyAgAAAHICAAAA+gg8c3RkaW4+2gg8bGFtYmRhPgEAAADzAAAAAA==", "defaults": null, "closure": null}},
             "arguments": {}}
            """);
        var e = Assert.Throws<ArgumentException>(() => new Lambda(c));
        Assert.Contains("__lambda__", e.Message);
        Assert.Contains("never executed", e.Message);
        Assert.Contains("\"expression\"", e.Message);
    }

    [Fact]
    public void Keras2PythonLambdaIsRejected()
    {
        var c = KerasJson.ReadConfig<LambdaConfig>("""
            {"name": "lam", "trainable": true, "dtype": "float32", "function": ["4wEAAAAA", null, null], "function_type": "lambda",
             "module": "__main__", "output_shape": null, "output_shape_type": "raw", "output_shape_module": null, "arguments": {}}
            """);
        var e = Assert.Throws<ArgumentException>(() => new Lambda(c));
        Assert.Contains("lambda", e.Message);
        Assert.Contains("Python", e.Message);
    }

    [Fact]
    public void ExpressionConfigRoundTrips()
    {
        var layer = new Lambda("x * 3");
        var json = KerasJson.WriteConfig(layer.Config);
        Assert.Equal("x * 3", json["expression"]!.GetValue<string>());
        var back = new Lambda((LambdaConfig)KerasJson.ReadConfig(json, typeof(LambdaConfig)));
        Assert.Equal("x * 3", back.Parsed.Text);
    }
}
