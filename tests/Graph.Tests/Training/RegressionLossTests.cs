using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using static NeuralService.Graph.Tests.Training.LossHarness;

namespace NeuralService.Graph.Tests.Training;

public sealed class RegressionLossTests
{
    private const int B = 4, D = 3;
    private static readonly float[] T = Reference.Random(B * D, 11, 2f);
    private static readonly float[] P = Reference.Random(B * D, 12, 2f);

    private static double[] PerRow(Func<double, double, double> f) =>
        Enumerable.Range(0, B).Select(b => Enumerable.Range(0, D).Average(j => f(T[b * D + j], P[b * D + j]))).ToArray();

    [Theory]
    [InlineData("mse")]
    [InlineData("MeanSquaredError")]
    [InlineData("mean_squared_error")]
    public void MeanSquaredErrorMatchesReference(string name)
    {
        var got = Run(new LossSpec(name), T, [B, D], P, [B, D]);
        Reference.AssertClose([Mean(PerRow((t, p) => (p - t) * (p - t)))], got);
    }

    [Fact]
    public void MeanAbsoluteErrorMatchesReference()
    {
        var got = Run("mae", T, [B, D], P, [B, D]);
        Reference.AssertClose([Mean(PerRow((t, p) => Math.Abs(p - t)))], got);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    public void HuberMatchesReferenceOnBothSidesOfDelta(double delta)
    {
        var got = Run(new LossSpec("huber") { Delta = delta }, T, [B, D], P, [B, D]);
        var expected = PerRow((t, p) =>
        {
            var e = Math.Abs(p - t);
            return e <= delta ? 0.5 * e * e : delta * e - 0.5 * delta * delta;
        });
        Assert.Contains(T.Zip(P).Select(z => Math.Abs(z.First - z.Second)), e => e > delta);
        Assert.Contains(T.Zip(P).Select(z => Math.Abs(z.First - z.Second)), e => e < delta);
        Reference.AssertClose([Mean(expected)], got);
    }

    [Fact]
    public void KlDivergenceClipsAndMatchesReference()
    {
        var t = Distributions(B, D, 3);
        t[0] = 0; // a zero target contributes 0 through the ε clip, not NaN
        var p = Distributions(B, D, 4);
        var got = Run("kld", t, [B, D], p, [B, D]);
        var expected = Enumerable.Range(0, B).Select(b => Enumerable.Range(0, D).Sum(j =>
        {
            var tt = Math.Clamp(t[b * D + j], 1e-7, 1);
            var pp = Math.Clamp(p[b * D + j], 1e-7, 1);
            return tt * Math.Log(tt / pp);
        })).ToArray();
        Reference.AssertClose([Mean(expected)], got);
    }

    [Fact]
    public void UnknownLossNamesAreRejectedWithTheName()
    {
        var e = Assert.Throws<ArgumentException>(() => new LossSpec("mean_cubed_error"));
        Assert.Contains("mean_cubed_error", e.Message);
    }
}
