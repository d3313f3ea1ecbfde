using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Recurrent;

public sealed class SimpleRNNTests
{
    [Fact]
    public void CountsParametersLikeKeras()
    {
        var layer = new SimpleRNN(64);
        RecurrentHarness.Model(layer, 10, 128);
        Assert.Equal(64 * (128 + 64) + 64, layer.CountParams());
    }

    [Theory]
    [InlineData("tanh", false, false, false)]
    [InlineData("tanh", true, true, false)]
    [InlineData("relu", true, false, true)]
    [InlineData("tanh", false, true, true)]
    public void MatchesTheKerasCell(string activation, bool returnSequences, bool returnState, bool goBackwards)
    {
        const int batch = 2, time = 5, features = 3;
        var layer = new SimpleRNN(4, activation, returnSequences, returnState, goBackwards);
        var model = RecurrentHarness.Model(layer, time, features);
        RecurrentHarness.Randomize(model, 41);
        var x = Reference.Random(batch * time * features, 6);
        var e = RecurrentHarness.Run(model, x, [batch, time, features]);
        Assert.True(RecurrentHarness.Uses(e.Inference, "RNN"));
        Assert.False(RecurrentHarness.Uses(e.Training, "RNN"));
        RecurrentHarness.AssertOutputs(e, RecurrentHarness.Expected(layer, RecurrentHarness.Cell(layer, x, batch, time, features), batch, time));
    }

    [Fact]
    public void LinearActivationFallsBackToTheUnrolledCell()
    {
        const int batch = 2, time = 3, features = 2;
        var layer = new SimpleRNN(3, "linear", returnSequences: true);
        var model = RecurrentHarness.Model(layer, time, features);
        RecurrentHarness.Randomize(model, 3);
        var x = Reference.Random(batch * time * features, 4);
        var e = RecurrentHarness.Run(model, x, [batch, time, features]);
        Assert.False(RecurrentHarness.Uses(e.Inference, "RNN"));
        RecurrentHarness.AssertOutputs(e, RecurrentHarness.Expected(layer, RecurrentHarness.Cell(layer, x, batch, time, features), batch, time));
    }

    [Fact]
    public void ExplicitDecomposedFormInInferenceGivesTheFusedNumbers()
    {
        const int batch = 2, time = 4, features = 3;
        var layer = new SimpleRNN(3, returnSequences: true);
        var model = RecurrentHarness.Model(layer, time, features);
        RecurrentHarness.Randomize(model, 12);
        var x = Reference.Random(batch * time * features, 13);
        var fused = model.ToOnnx();
        layer.Form = RecurrentForm.Decomposed;
        var unrolled = model.ToOnnx();
        OnnxChecker.Check(fused, unrolled);
        Assert.True(RecurrentHarness.Uses(fused, "RNN"));
        Assert.False(RecurrentHarness.Uses(unrolled, "RNN"));
        Reference.AssertClose(Ort.Run1(fused, x, [batch, time, features]).Data, Ort.Run1(unrolled, x, [batch, time, features]).Data);
    }

    [Fact]
    public void TimeMajorInputIsTransposed()
    {
        const int batch = 2, time = 3, features = 2;
        var layer = new SimpleRNN(new SimpleRNNConfig { Units = 3, TimeMajor = true, ReturnSequences = true });
        var input = Input.Of([batch, features], batchSize: time);
        var model = new Graph.Models.Functional(input, layer.Apply(input));
        RecurrentHarness.Randomize(model, 2);
        var xt = Reference.Random(time * batch * features, 3);
        var xb = new float[xt.Length];
        for (var t = 0; t < time; t++)
            for (var b = 0; b < batch; b++)
                Array.Copy(xt, (t * batch + b) * features, xb, (b * time + t) * features, features);
        var e = RecurrentHarness.Run(model, xt, [time, batch, features]);
        var seq = RecurrentHarness.Cell(layer, xb, batch, time, features).Sequence;
        var expected = new float[seq.Length];
        for (var t = 0; t < time; t++)
            for (var b = 0; b < batch; b++)
                Array.Copy(seq, (b * time + t) * 3, expected, (t * batch + b) * 3, 3);
        RecurrentHarness.AssertOutputs(e, [(expected, [time, batch, 3])]);
    }
}
