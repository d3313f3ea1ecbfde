using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using static NeuralService.Graph.Tests.Training.LossHarness;

namespace NeuralService.Graph.Tests.Training;

public sealed class LossWeightingTests
{
    private const int B = 4, D = 3;
    private static readonly float[] T = Reference.Random(B * D, 21);
    private static readonly float[] P = Reference.Random(B * D, 22);
    private static readonly double[] Mse = Enumerable.Range(0, B)
        .Select(b => Enumerable.Range(0, D).Average(j => Math.Pow(P[b * D + j] - T[b * D + j], 2))).ToArray();

    [Fact]
    public void SumReductionAddsTheSamples() =>
        Reference.AssertClose([(float)Mse.Sum()], Run(new LossSpec("mse") { Reduction = Reduction.Sum }, T, [B, D], P, [B, D]));

    [Fact]
    public void NoReductionGivesOneLossPerSample() =>
        Reference.AssertClose(Mse.Select(v => (float)v).ToArray(), Run(new LossSpec("mse") { Reduction = Reduction.None }, T, [B, D], P, [B, D]));

    [Fact]
    public void SampleWeightsScaleEachSampleAndTheCountStaysTheBatchSize()
    {
        float[] w = [1f, 0f, 2f, 0.5f];
        Reference.AssertClose([Mean(Mse, w)], Run("mse", T, [B, D], P, [B, D], w));
        Reference.AssertClose([(float)Mse.Select((l, i) => l * w[i]).Sum()],
            Run(new LossSpec("mse") { Reduction = Reduction.Sum }, T, [B, D], P, [B, D], w));
    }

    [Fact]
    public void SampleWeightsBroadcastOverTimeSteps()
    {
        // Losses of a sequence output are [batch, time]; a per-sample weight covers every step of its sample.
        const int steps = 2;
        var t = Reference.Random(B * steps * D, 23);
        var p = Reference.Random(B * steps * D, 24);
        float[] w = [0.5f, 1f, 3f, 0f];
        var got = Run("mae", t, [B, steps, D], p, [B, steps, D], w);
        double sum = 0;
        for (var b = 0; b < B; b++)
            for (var s = 0; s < steps; s++)
                sum += w[b] * Enumerable.Range(0, D).Average(j => Math.Abs(p[(b * steps + s) * D + j] - t[(b * steps + s) * D + j]));
        Reference.AssertClose([(float)(sum / (B * steps))], got);
    }

    [Fact]
    public void ClassWeightsAreLookedUpBySparseLabel()
    {
        const int c = 3;
        int[] labels = [2, 0, 1, 2];
        var p = Distributions(B, c, 25);
        var spec = new LossSpec("sparse_categorical_crossentropy") { ClassWeights = new Dictionary<int, double> { [0] = 0.5, [2] = 4 } };
        float[] sw = [1f, 2f, 1f, 0.5f];
        var got = Run(spec, labels.Select(l => (float)l).ToArray(), [B], p, [B, c], sw);
        double[] byClass = [0.5, 1, 4];
        var expected = Enumerable.Range(0, B).Sum(b => -Math.Log(p[b * c + labels[b]]) * byClass[labels[b]] * sw[b]) / B;
        Reference.AssertClose([(float)expected], got);
    }

    [Fact]
    public void ClassWeightsUseTheArgmaxOfOneHotLabels()
    {
        const int c = 3;
        int[] labels = [1, 1, 0, 2];
        var t = OneHot(labels, c);
        var p = Distributions(B, c, 26);
        var spec = new LossSpec("categorical_crossentropy") { ClassWeights = new Dictionary<int, double> { [1] = 3 } };
        var got = Run(spec, t, [B, c], p, [B, c]);
        var expected = Enumerable.Range(0, B).Sum(b => -Math.Log(p[b * c + labels[b]]) * (labels[b] == 1 ? 3 : 1)) / B;
        Reference.AssertClose([(float)expected], got);
    }

    [Fact]
    public void ClassWeightsOfBinaryLabelsUseTheRoundedLabel()
    {
        float[] t = [1, 0, 0, 1];
        var p = Uniform(B, 27, 0.05, 0.95);
        var spec = new LossSpec("binary_crossentropy") { ClassWeights = new Dictionary<int, double> { [0] = 0.25, [1] = 2 } };
        var got = Run(spec, t, [B, 1], p, [B, 1]);
        var expected = Enumerable.Range(0, B).Sum(b =>
            -(t[b] * Math.Log(p[b]) + (1 - t[b]) * Math.Log(1 - p[b])) * (t[b] == 1 ? 2 : 0.25)) / B;
        Reference.AssertClose([(float)expected], got);
    }
}
