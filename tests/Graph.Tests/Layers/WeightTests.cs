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

    [Fact]
    public void TheInitializerDrawsFromTheSeedGivenBeforeTheFirstRead()
    {
        static Weight Named(int? seed)
        {
            var dense = new Dense(3, name: "k");
            _ = new NeuralService.Graph.Models.Sequential([new InputLayer(new InputLayerConfig { BatchShape = [null, 2] }), dense]);
            if (seed is { } s) dense.Weights[0].SeedInitializer(s);
            return dense.Weights[0];
        }
        var pathOnly = Named(null).Data;
        Assert.Equal(pathOnly, Named(0).Data);
        var seven = Named(7).Data;
        Assert.Equal(seven, Named(7).Data);
        Assert.NotEqual(pathOnly, seven);
        Assert.All(seven, v => Assert.InRange(v, -Math.Sqrt(6.0 / 5), Math.Sqrt(6.0 / 5)));

        // Once read (or assigned), the values stay: a later seed does not change what was seen.
        var read = Named(7);
        var seen = read.Data.ToArray();
        read.SeedInitializer(8);
        Assert.Equal(seen, read.Data);
        var assigned = Named(null);
        assigned.Assign([0, 1, 2, 3, 4, 5]);
        assigned.SeedInitializer(8);
        Assert.Equal([0, 1, 2, 3, 4, 5], assigned.Data);
    }
}
