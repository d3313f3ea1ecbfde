using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Recurrent;

public sealed class TimeDistributedTests
{
    [Theory]
    [InlineData(4)]
    [InlineData(null)]
    public void AppliesDenseToEveryStep(int? declaredTime)
    {
        const int batch = 2, time = 4, features = 3, units = 5;
        var layer = new TimeDistributed(new Dense(units, "relu"));
        var model = RecurrentHarness.Model(layer, declaredTime, features);
        RecurrentHarness.Randomize(model, 3);
        Assert.Equal(features * units + units, layer.CountParams());
        var x = Reference.Random(batch * time * features, 4);
        var e = RecurrentHarness.Run(model, x, [batch, time, features]);
        Assert.True(RecurrentHarness.Uses(e.Inference, "Reshape"));
        var w = layer.Inner.Weights;
        var expected = Reference.Dense(x, batch * time, features, w[0].Data, units, w[1].Data).Select(v => Math.Max(0, v)).ToArray();
        RecurrentHarness.AssertOutputs(e, [(expected, [batch, time, units])]);
    }

    [Fact]
    public void WrapsARecurrentLayerOverAnExtraAxis()
    {
        const int batch = 2, outer = 2, time = 3, features = 2, units = 2;
        var layer = new TimeDistributed(new SimpleRNN(units));
        var input = Input.Of(outer, time, features);
        var model = new Graph.Models.Functional(input, layer.Apply(input));
        RecurrentHarness.Randomize(model, 5);
        var x = Reference.Random(batch * outer * time * features, 6);
        var e = RecurrentHarness.Run(model, x, [batch, outer, time, features]);
        var expected = RecurrentHarness.Cell((RecurrentLayer)layer.Inner, x, batch * outer, time, features).H;
        RecurrentHarness.AssertOutputs(e, [(expected, [batch, outer, units])]);
    }
}
