using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Reshaping;

public sealed class ReshapingTests
{
    [Fact]
    public void FlattenKeepsRowMajorOrder()
    {
        var x = Reference.Random(2 * 3 * 4, 1);
        var (y, dims) = LayerRun.One(new Flatten(), x, [2, 3, 4]);
        Assert.Equal([2, 12], dims);
        Reference.AssertClose(x, y);
    }

    [Fact]
    public void FlattenChannelsFirstMovesChannelsLast()
    {
        var x = Reference.Random(2 * 3 * 4, 2);
        var (y, _) = LayerRun.One(new Flatten(new FlattenConfig { DataFormat = "channels_first" }), x, [2, 3, 4]);
        var expected = new float[x.Length];
        for (var b = 0; b < 2; b++)
            for (var c = 0; c < 3; c++)
                for (var s = 0; s < 4; s++)
                    expected[b * 12 + s * 3 + c] = x[b * 12 + c * 4 + s];
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void ReshapeInfersMinusOne()
    {
        var x = Reference.Random(2 * 12, 3);
        var layer = new Reshape([-1, 3]);
        var input = Input.Of(12);
        var output = layer.Apply(input);
        Assert.Equal("(None, 4, 3)", output.Shape.ToKerasString());
        var (y, dims) = LayerRun.Model(new NeuralService.Graph.Models.Functional(input, output), null, (x, [2, 12]))[0];
        Assert.Equal([2, 4, 3], dims);
        Reference.AssertClose(x, y);
    }

    [Fact]
    public void ReshapeRejectsBadTargets()
    {
        Assert.Contains("-1, -1", Assert.Throws<ArgumentException>(() => new Reshape([-1, -1])).Message);
        Assert.ThrowsAny<NeuralService.Graph.Core.ShapeException>(() => new Reshape([5]).Apply(Input.Of(12)));
    }

    [Fact]
    public void PermuteIsOneBased()
    {
        var x = Reference.Random(2 * 3 * 4, 4);
        var (y, dims) = LayerRun.One(new Permute([2, 1]), x, [2, 3, 4]);
        Assert.Equal([2, 4, 3], dims);
        var expected = new float[x.Length];
        for (var b = 0; b < 2; b++)
            for (var i = 0; i < 3; i++)
                for (var j = 0; j < 4; j++)
                    expected[b * 12 + j * 3 + i] = x[b * 12 + i * 4 + j];
        Reference.AssertClose(expected, y);
        Assert.Contains("(0, 1)", Assert.Throws<ArgumentException>(() => new Permute([0, 1])).Message);
    }

    [Fact]
    public void RepeatVectorCopiesEachSample()
    {
        var x = Reference.Random(2 * 3, 5);
        var (y, dims) = LayerRun.One(new RepeatVector(4), x, [2, 3]);
        Assert.Equal([2, 4, 3], dims);
        var expected = new float[2 * 4 * 3];
        for (var b = 0; b < 2; b++)
            for (var n = 0; n < 4; n++)
                for (var f = 0; f < 3; f++)
                    expected[(b * 4 + n) * 3 + f] = x[b * 3 + f];
        Reference.AssertClose(expected, y);
        Assert.Contains("-2", Assert.Throws<ArgumentException>(() => new RepeatVector(-2)).Message);
    }
}
