using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Recurrent;

public sealed class BidirectionalTests
{
    private const int Batch = 2, Time = 4, Features = 3, Units = 3;

    [Fact]
    public void CountsBothDirections()
    {
        var layer = new Bidirectional(new LSTM(64, returnSequences: true));
        RecurrentHarness.Model(layer, 10, 128);
        Assert.Equal(2 * 49_408, layer.CountParams());
        Assert.StartsWith("forward_", layer.Forward.Name);
        Assert.StartsWith("backward_", layer.Backward.Name);
        Assert.True(layer.Backward.GoBackwards);
    }

    [Theory]
    [InlineData("concat", true)]
    [InlineData("sum", true)]
    [InlineData("mul", false)]
    [InlineData("ave", true)]
    [InlineData(null, true)]
    [InlineData("concat", false)]
    public void MergesLikeKeras(string? mergeMode, bool returnSequences)
    {
        var layer = new Bidirectional(new LSTM(Units, returnSequences), mergeMode);
        var model = RecurrentHarness.Model(layer, Time, Features);
        RecurrentHarness.Randomize(model, 17);
        var x = Reference.Random(Batch * Time * Features, 19);
        var e = RecurrentHarness.Run(model, x, [Batch, Time, Features]);
        var (a, b) = Directions(layer, x, returnSequences);
        int[] dims = returnSequences ? [Batch, Time, Units] : [Batch, Units];
        List<(float[], int[])> expected = mergeMode switch
        {
            "concat" => [(Concat(a, b), [.. dims[..^1], 2 * Units])],
            "sum" => [(a.Zip(b, (p, q) => p + q).ToArray(), dims)],
            "mul" => [(a.Zip(b, (p, q) => p * q).ToArray(), dims)],
            "ave" => [(a.Zip(b, (p, q) => (p + q) / 2).ToArray(), dims)],
            _ => [(a, dims), (b, dims)],
        };
        RecurrentHarness.AssertOutputs(e, expected);
    }

    [Fact]
    public void ReturnsForwardThenBackwardStates()
    {
        var layer = new Bidirectional(new GRU(Units, returnSequences: true, returnState: true), "sum");
        var model = RecurrentHarness.Model(layer, Time, Features);
        RecurrentHarness.Randomize(model, 23);
        var x = Reference.Random(Batch * Time * Features, 29);
        var e = RecurrentHarness.Run(model, x, [Batch, Time, Features]);
        var f = RecurrentHarness.Cell(layer.Forward, x, Batch, Time, Features);
        var b = RecurrentHarness.Cell(layer.Backward, x, Batch, Time, Features);
        var merged = f.Sequence.Zip(RecurrentReference.ReverseTime(b.Sequence, Batch, Time, Units), (p, q) => p + q).ToArray();
        RecurrentHarness.AssertOutputs(e, [(merged, [Batch, Time, Units]), (f.H, [Batch, Units]), (b.H, [Batch, Units])]);
    }

    [Fact]
    public void MaskedSequencesZeroTheMaskedOutputs()
    {
        var layer = new Bidirectional(new SimpleRNN(Units, returnSequences: true));
        var model = RecurrentHarness.Model(layer, Time, Features, masked: true);
        RecurrentHarness.Randomize(model, 37);
        var x = Reference.Random(Batch * Time * Features, 41);
        var mask = new bool[Batch * Time];
        for (var i = 0; i < mask.Length; i++)
        {
            mask[i] = i % Time < 3 - i / Time;
            if (!mask[i]) for (var k = 0; k < Features; k++) x[i * Features + k] = 0;
        }
        var e = RecurrentHarness.Run(model, x, [Batch, Time, Features]);
        var a = RecurrentHarness.Cell(layer.Forward, x, Batch, Time, Features, mask, zeroOutputForMask: true).Sequence;
        var b = RecurrentReference.ReverseTime(
            RecurrentHarness.Cell(layer.Backward, x, Batch, Time, Features, mask, zeroOutputForMask: true).Sequence, Batch, Time, Units);
        Assert.Contains(0f, e.InferenceOutputs[0].Data);
        RecurrentHarness.AssertOutputs(e, [(Concat(a, b), [Batch, Time, 2 * Units])]);
    }

    [Fact]
    public void RejectsUnknownMergeMode()
    {
        var e = Assert.Throws<ArgumentException>(() => new Bidirectional(new LSTM(2), "max"));
        Assert.Contains("'max'", e.Message);
    }

    private static (float[] Forward, float[] Backward) Directions(Bidirectional layer, float[] x, bool sequences)
    {
        var f = RecurrentHarness.Cell(layer.Forward, x, Batch, Time, Features);
        var b = RecurrentHarness.Cell(layer.Backward, x, Batch, Time, Features);
        return sequences ? (f.Sequence, RecurrentReference.ReverseTime(b.Sequence, Batch, Time, Units)) : (f.H, b.H);
    }

    private static float[] Concat(float[] a, float[] b)
    {
        var rows = a.Length / Units;
        var r = new float[2 * a.Length];
        for (var i = 0; i < rows; i++)
        {
            Array.Copy(a, i * Units, r, i * 2 * Units, Units);
            Array.Copy(b, i * Units, r, i * 2 * Units + Units, Units);
        }
        return r;
    }
}
