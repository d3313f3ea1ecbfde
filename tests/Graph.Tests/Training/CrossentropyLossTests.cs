using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using static NeuralService.Graph.Tests.Training.LossHarness;

namespace NeuralService.Graph.Tests.Training;

public sealed class CrossentropyLossTests
{
    private const int B = 5, C = 4;
    private const double Eps = 1e-7;
    private static readonly int[] Labels = [0, 3, 1, 2, 3];

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    private static double[] Bce(float[] t, float[] p, int rows, int cols, double smoothing = 0) =>
        Enumerable.Range(0, rows).Select(b => Enumerable.Range(0, cols).Average(j =>
        {
            var tt = t[b * cols + j] * (1 - smoothing) + 0.5 * smoothing;
            // Keras computes in float32: 1 − ε rounds to 0.99999988 and 1 − p is a float32 difference.
            var pp = Math.Clamp(p[b * cols + j], (float)Eps, 1f - (float)Eps);
            return -(tt * Math.Log(pp) + (1 - tt) * Math.Log(1f - pp));
        })).ToArray();

    private static double[] Cce(float[] t, float[] p, double smoothing = 0) =>
        Enumerable.Range(0, B).Select(b =>
        {
            var s = Enumerable.Range(0, C).Sum(j => (double)p[b * C + j]);
            return -Enumerable.Range(0, C).Sum(j =>
                (t[b * C + j] * (1 - smoothing) + smoothing / C) * Math.Log(Math.Clamp(p[b * C + j] / s, Eps, 1 - Eps)));
        }).ToArray();

    [Fact]
    public void BinaryFromProbabilitiesClipsAtEpsilon()
    {
        var t = Uniform(B * 2, 1, 0, 1).Select(v => (float)Math.Round(v)).ToArray();
        var p = Uniform(B * 2, 2, 0.01, 0.99);
        p[0] = 0; p[1] = 1; // would be ±∞ without Keras's clipping
        var got = Run("binary_crossentropy", t, [B, 2], p, [B, 2]);
        Assert.True(float.IsFinite(got[0]));
        Reference.AssertClose([Mean(Bce(t, p, B, 2))], got);
    }

    [Fact]
    public void BinaryWithLabelSmoothing()
    {
        var t = Uniform(B, 1, 0, 1).Select(v => (float)Math.Round(v)).ToArray();
        var p = Uniform(B, 2, 0.01, 0.99);
        var got = Run(new LossSpec("BinaryCrossentropy") { LabelSmoothing = 0.2 }, t, [B, 1], p, [B, 1]);
        Reference.AssertClose([Mean(Bce(t, p, B, 1, 0.2))], got);
    }

    [Fact]
    public void BinaryFromLogitsIsStableForLargeLogits()
    {
        var t = new float[] { 1, 0, 1, 0, 1, 0 };
        var x = new float[] { 3f, -2f, -200f, 150f, 0.5f, 0f };
        var got = Run(new LossSpec("binary_crossentropy") { FromLogits = true }, t, [3, 2], x, [3, 2]);
        var expected = Enumerable.Range(0, 3).Select(b => Enumerable.Range(0, 2).Average(j =>
        {
            double z = t[b * 2 + j], v = x[b * 2 + j];
            // −[z·log σ(v) + (1−z)·log(1−σ(v))] evaluated with log σ(v) = −log(1 + e^−v) in double, separately per sign.
            var logSig = v >= 0 ? -Math.Log(1 + Math.Exp(-v)) : v - Math.Log(1 + Math.Exp(v));
            var logOneMinus = v >= 0 ? -v - Math.Log(1 + Math.Exp(-v)) : -Math.Log(1 + Math.Exp(v));
            return -(z * logSig + (1 - z) * logOneMinus);
        })).ToArray();
        Assert.True(Sigmoid(150) == 1.0);
        Reference.AssertClose([Mean(expected)], got);
    }

    [Fact]
    public void CategoricalFromProbabilitiesRenormalizes()
    {
        var t = OneHot(Labels, C);
        var p = Uniform(B * C, 5, 0.05, 1); // rows not summing to 1: Keras divides by the row sum
        var got = Run("categorical_crossentropy", t, [B, C], p, [B, C]);
        Reference.AssertClose([Mean(Cce(t, p))], got);
    }

    [Fact]
    public void CategoricalWithLabelSmoothing()
    {
        var t = OneHot(Labels, C);
        var p = Distributions(B, C, 6);
        var got = Run(new LossSpec("categorical_crossentropy") { LabelSmoothing = 0.1 }, t, [B, C], p, [B, C]);
        Reference.AssertClose([Mean(Cce(t, p, 0.1))], got);
    }

    [Fact]
    public void CategoricalFromLogitsWithSmoothingEqualsSoftmaxThenLog()
    {
        var t = OneHot(Labels, C);
        var x = Reference.Random(B * C, 7, 5f);
        var got = Run(new LossSpec("CategoricalCrossentropy") { FromLogits = true, LabelSmoothing = 0.1 }, t, [B, C], x, [B, C]);
        var expected = Enumerable.Range(0, B).Select(b =>
        {
            var max = Enumerable.Range(0, C).Max(j => x[b * C + j]);
            var lse = max + Math.Log(Enumerable.Range(0, C).Sum(j => Math.Exp(x[b * C + j] - max)));
            return -Enumerable.Range(0, C).Sum(j => (t[b * C + j] * 0.9 + 0.1 / C) * (x[b * C + j] - lse));
        }).ToArray();
        Reference.AssertClose([Mean(expected)], got);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    public void SparseMatchesMinusLogOfTheLabelsProbability(bool fromLogits, bool labelsWithTrailingAxis)
    {
        var x = fromLogits ? Reference.Random(B * C, 8, 30f) : Distributions(B, C, 8);
        var labels = Labels.Select(l => (float)l).ToArray();
        var got = Run(new LossSpec("sparse_categorical_crossentropy") { FromLogits = fromLogits }, labels,
            labelsWithTrailingAxis ? [B, 1] : [B], x, [B, C]);
        var expected = Enumerable.Range(0, B).Select(b =>
        {
            if (!fromLogits) return -Math.Log(Math.Clamp((double)x[b * C + Labels[b]], Eps, 1 - Eps));
            var max = Enumerable.Range(0, C).Max(j => x[b * C + j]);
            var lse = max + Math.Log(Enumerable.Range(0, C).Sum(j => Math.Exp(x[b * C + j] - max)));
            return lse - x[b * C + Labels[b]];
        }).ToArray();
        Reference.AssertClose([Mean(expected)], got);
    }
}
