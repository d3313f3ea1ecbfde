using NeuralService.Graph.Layers;

namespace NeuralService.Graph.Tests.Layers;

public sealed class WeightTests
{
    private static Weight Kernel()
    {
        var dense = new Dense(3);
        _ = new NeuralService.Graph.Models.Sequential([new InputLayer(new InputLayerConfig { BatchShape = [null, 2] }), dense]);
        return dense.Weights[0];
    }

    [Fact]
    public void AssignCopiesAndAdoptTakesTheArray()
    {
        var w = Kernel();
        var values = Enumerable.Range(0, 6).Select(i => (float)i).ToArray();
        w.Assign(values);
        values[0] = 99;
        Assert.Equal(0, w.Data[0]);
        var owned = new float[6];
        w.Adopt(owned);
        Assert.Same(owned, w.Data);
        var e = Assert.Throws<ArgumentException>(() => w.Adopt(new float[5]));
        Assert.Contains("needs 6 values, got 5", e.Message);
    }
}
