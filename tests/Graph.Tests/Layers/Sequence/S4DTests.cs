using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Sequence;

public sealed class S4DTests
{
    private const int B = 2, L = 6, H = 3, N = 4;

    /// <summary>The recurrence itself, step by step: x_t = Ā x_{t−1} + B̄ u_t, y_t = C·x_t + D u_t.</summary>
    private static float[] Recurrence(float[] u, S4D layer)
    {
        var (logDt, logA, bw, c, d) = (layer.Weights[0].Data, layer.Weights[1].Data, layer.Weights[2].Data, layer.Weights[3].Data, layer.Weights[4].Data);
        var y = new float[B * L * H];
        for (var b = 0; b < B; b++)
            for (var h = 0; h < H; h++)
            {
                var state = new double[N];
                var dt = Math.Exp(logDt[h]);
                for (var t = 0; t < L; t++)
                {
                    var ut = (double)u[(b * L + t) * H + h];
                    double yt = d[h] * ut;
                    for (var n = 0; n < N; n++)
                    {
                        var a = -Math.Exp(logA[h * N + n]);
                        var aBar = Math.Exp(dt * a);
                        var bBar = (aBar - 1) / a * bw[h * N + n];
                        state[n] = aBar * state[n] + bBar * ut;
                        yt += c[h * N + n] * state[n];
                    }
                    y[(b * L + t) * H + h] = (float)yt;
                }
            }
        return y;
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ConvolutionKernelEqualsTheRecurrence(bool returnSequences)
    {
        var x = Input.Of(L, H);
        var s4 = new S4D(stateDim: N, returnSequences: returnSequences);
        var model = new Functional(x, s4.Apply(x));
        // Larger steps than the default init so that the state carries over many steps.
        s4.Weights[0].Assign([-0.5f, 0f, 0.3f]);
        s4.Weights[3].Assign(Reference.Random(H * N, 4));
        s4.Weights[4].Assign(Reference.Random(H, 5));
        var inference = model.ToOnnx();
        var training = model.ToOnnx(new ExportOptions { Training = true });
        OnnxChecker.Check(inference, training);
        var u = Reference.Random(B * L * H, 6);
        var expected = Recurrence(u, s4);
        if (!returnSequences)
            expected = Enumerable.Range(0, B).SelectMany(b => expected.Skip((b * L + L - 1) * H).Take(H)).ToArray();
        var (y, dims) = Ort.Run1(inference, u, [B, L, H]);
        Assert.Equal(returnSequences ? [B, L, H] : [B, H], dims);
        Reference.AssertClose(expected, y);
        Reference.AssertClose(expected, Ort.Run1(training, u, [B, L, H]).Data, what: "training graph");
    }

    [Fact]
    public void CountsParameters()
    {
        var x = Input.Of(L, H);
        var s4 = new S4D(stateDim: N);
        s4.Apply(x);
        Assert.Equal(H + 3 * H * N + H, s4.CountParams());
    }

    [Fact]
    public void NeedsAKnownLength()
    {
        var x = Input.Of([null, H]);
        Assert.Contains("known time", Assert.ThrowsAny<Exception>(() => new S4D().Apply(x)).Message);
        Assert.Contains("-2", Assert.Throws<ArgumentException>(() => new S4D(stateDim: -2)).Message);
    }
}
