using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Core;

public sealed class DenseTests
{
    [Fact]
    public void MatchesPlainLoopWithBiasAndActivation()
    {
        var dense = new Dense(4, "tanh");
        var x = Reference.Random(3 * 5, 11);
        var (y, dims) = LayerRun.One(dense, x, [3, 5]);
        Assert.Equal([3, 4], dims);
        Assert.Equal(5 * 4 + 4, dense.CountParams());
        var expected = Reference.Dense(x, 3, 5, dense.Weights[0].Data, 4, dense.Weights[1].Data).Select(MathF.Tanh).ToArray();
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void WithoutBiasActsOnTheLastAxisOf3DInputs()
    {
        var dense = new Dense(3, useBias: false);
        var x = Reference.Random(2 * 4 * 6, 12);
        var (y, dims) = LayerRun.One(dense, x, [2, 4, 6]);
        Assert.Equal([2, 4, 3], dims);
        Assert.Single(dense.Weights);
        Reference.AssertClose(Reference.Dense(x, 8, 6, dense.Weights[0].Data, 3, null), y);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void NonPositiveUnitsAreRejected(int units)
    {
        var e = Assert.Throws<ArgumentException>(() => new Dense(units));
        Assert.Contains(units.ToString(), e.Message);
    }

    [Fact]
    public void UnknownActivationIsRejectedQuotingIt()
    {
        var e = Assert.Throws<ArgumentException>(() => new Dense(3, "sigmoidd"));
        Assert.Contains("'sigmoidd'", e.Message);
    }

    [Fact]
    public void Keras3ConfigWithQuantizationConfigImports()
    {
        const string json = """
            {"name": "d", "trainable": true, "dtype": "float32", "units": 3, "activation": "relu", "use_bias": true,
            "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null},
            "bias_initializer": "zeros", "kernel_regularizer": null, "bias_regularizer": null, "kernel_constraint": null,
            "bias_constraint": null, "activity_regularizer": null, "quantization_config": null}
            """;
        var config = KerasJson.ReadConfig<DenseConfig>(json);
        Assert.Equal(3, new Dense(config).Config.Units);
    }
}
