using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Recurrent;

public sealed class GRUTests
{
    [Fact]
    public void CountsParametersLikeKeras()
    {
        var after = new GRU(64);
        var before = new GRU(64, resetAfter: false);
        RecurrentHarness.Model(after, 10, 128);
        RecurrentHarness.Model(before, 10, 128);
        Assert.Equal(3 * 64 * (128 + 64) + 2 * 3 * 64, after.CountParams());
        Assert.Equal([2L, 192], after.Weights[2].Shape);
        Assert.Equal(3 * 64 * (128 + 64) + 3 * 64, before.CountParams());
        Assert.Equal([192L], before.Weights[2].Shape);
    }

    [Theory]
    [InlineData(true, false, false, false)]
    [InlineData(true, true, true, false)]
    [InlineData(true, false, true, true)]
    [InlineData(false, false, false, false)]
    [InlineData(false, true, true, true)]
    public void MatchesTheKerasCell(bool resetAfter, bool returnSequences, bool returnState, bool goBackwards)
    {
        const int batch = 2, time = 4, features = 3;
        var layer = new GRU(4, returnSequences, returnState, goBackwards, resetAfter);
        var model = RecurrentHarness.Model(layer, time, features);
        RecurrentHarness.Randomize(model, 31);
        var x = Reference.Random(batch * time * features, 7);
        var e = RecurrentHarness.Run(model, x, [batch, time, features]);
        Assert.True(RecurrentHarness.Uses(e.Inference, "GRU"));
        Assert.False(RecurrentHarness.Uses(e.Training, "GRU"));
        var r = RecurrentHarness.Cell(layer, x, batch, time, features);
        RecurrentHarness.AssertOutputs(e, RecurrentHarness.Expected(layer, r, batch, time));
    }

    [Fact]
    public void WithoutBiasMatchesTheKerasCell()
    {
        const int batch = 3, time = 3, features = 2;
        var layer = new GRU(new GRUConfig { Units = 2, UseBias = false, ReturnSequences = true });
        var model = RecurrentHarness.Model(layer, time, features);
        RecurrentHarness.Randomize(model, 1);
        Assert.Equal(2, layer.Weights.Count);
        var x = Reference.Random(batch * time * features, 2);
        var e = RecurrentHarness.Run(model, x, [batch, time, features]);
        RecurrentHarness.AssertOutputs(e, RecurrentHarness.Expected(layer, RecurrentHarness.Cell(layer, x, batch, time, features), batch, time));
    }

    [Fact]
    public void MaskedStepsCarryTheState()
    {
        const int batch = 2, time = 4, features = 2;
        var layer = new GRU(3, returnSequences: true, goBackwards: true);
        var model = RecurrentHarness.Model(layer, time, features, masked: true);
        RecurrentHarness.Randomize(model, 8);
        var x = Reference.Random(batch * time * features, 5);
        var mask = new bool[batch * time];
        for (var i = 0; i < mask.Length; i++)
        {
            mask[i] = i % time < 2 + i / time;
            if (!mask[i]) for (var f = 0; f < features; f++) x[i * features + f] = 0;
        }
        var e = RecurrentHarness.Run(model, x, [batch, time, features]);
        Assert.False(RecurrentHarness.Uses(e.Inference, "GRU"));
        RecurrentHarness.AssertOutputs(e, RecurrentHarness.Expected(layer, RecurrentHarness.Cell(layer, x, batch, time, features, mask), batch, time));
    }

    [Fact]
    public void HardSigmoidAfterAnotherActivationStaysFused()
    {
        const int batch = 2, time = 3, features = 2;
        var layer = new GRU(new GRUConfig { Units = 3, Activation = "hard_sigmoid", RecurrentActivation = "sigmoid", ReturnSequences = true });
        var model = RecurrentHarness.Model(layer, time, features);
        RecurrentHarness.Randomize(model, 14);
        var x = Reference.Random(batch * time * features, 15, 3f);
        var e = RecurrentHarness.Run(model, x, [batch, time, features]);
        Assert.True(RecurrentHarness.Uses(e.Inference, "GRU"));
        RecurrentHarness.AssertOutputs(e, RecurrentHarness.Expected(layer, RecurrentHarness.Cell(layer, x, batch, time, features), batch, time));
    }
}
