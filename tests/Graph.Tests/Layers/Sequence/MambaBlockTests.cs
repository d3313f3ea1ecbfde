using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Sequence;

public sealed class MambaBlockTests
{
    private const int B = 2, L = 5, Dm = 4, N = 3, K = 3, Expand = 2;

    private static double Silu(double v) => v / (1 + Math.Exp(-v));
    private static double Softplus(double v) => Math.Log(1 + Math.Exp(v));

    /// <summary>The selective scan step by step, per sample, in double.</summary>
    private static float[] Scan(float[] u, MambaBlock m)
    {
        var w = m.Weights.Select(x => x.Data).ToArray();
        var (inProj, convK, convB, xProj, dtK, dtB, aLog, dSkip, outProj) = (w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7], w[8]);
        int e = m.InnerDim, r = m.DtRank;
        var y = new float[B * L * Dm];
        for (var b = 0; b < B; b++)
        {
            var x = new double[L, e];
            var z = new double[L, e];
            for (var t = 0; t < L; t++)
                for (var j = 0; j < 2 * e; j++)
                {
                    double s = 0;
                    for (var c = 0; c < Dm; c++) s += u[(b * L + t) * Dm + c] * inProj[c * 2 * e + j];
                    if (j < e) x[t, j] = s; else z[t, j - e] = s;
                }
            var xc = new double[L, e];
            for (var t = 0; t < L; t++)
                for (var j = 0; j < e; j++)
                {
                    double s = convB[j];
                    // Tap i sees x[t − (K − 1) + i]; earlier steps are zero padding.
                    for (var i = 0; i < K; i++)
                    {
                        var src = t - (K - 1) + i;
                        if (src >= 0) s += convK[j * K + i] * x[src, j];
                    }
                    xc[t, j] = Silu(s);
                }
            var h = new double[e, N];
            for (var t = 0; t < L; t++)
            {
                var proj = new double[r + 2 * N];
                for (var o = 0; o < r + 2 * N; o++)
                    for (var j = 0; j < e; j++) proj[o] += xc[t, j] * xProj[j * (r + 2 * N) + o];
                var gated = new double[e];
                for (var j = 0; j < e; j++)
                {
                    double dtRaw = dtB[j];
                    for (var q = 0; q < r; q++) dtRaw += proj[q] * dtK[q * e + j];
                    var delta = Softplus(dtRaw);
                    double yj = dSkip[j] * xc[t, j];
                    for (var n = 0; n < N; n++)
                    {
                        var a = -Math.Exp(aLog[j * N + n]);
                        h[j, n] = Math.Exp(delta * a) * h[j, n] + delta * xc[t, j] * proj[r + n];
                        yj += h[j, n] * proj[r + N + n];
                    }
                    gated[j] = yj * Silu(z[t, j]);
                }
                for (var o = 0; o < Dm; o++)
                {
                    double s = 0;
                    for (var j = 0; j < e; j++) s += gated[j] * outProj[j * Dm + o];
                    y[(b * L + t) * Dm + o] = (float)s;
                }
            }
        }
        return y;
    }

    [Fact]
    public void SelectiveScanMatchesStepByStepReference()
    {
        var x = Input.Of(L, Dm);
        var mamba = new MambaBlock(dState: N, dConv: K, expand: Expand);
        var model = new Functional(x, mamba.Apply(x));
        Assert.Equal(8, mamba.InnerDim);
        Assert.Equal(1, mamba.DtRank);
        // Keep A_log and the Δ bias as initialised (meaningful), randomise the projections.
        foreach (var i in new[] { 0, 1, 2, 3, 4, 7, 8 }) mamba.Weights[i].Assign(Reference.Random((int)mamba.Weights[i].Size, 40 + i, 0.8f));
        var inference = model.ToOnnx();
        var training = model.ToOnnx(new ExportOptions { Training = true });
        OnnxChecker.Check(inference, training);
        var u = Reference.Random(B * L * Dm, 2);
        var expected = Scan(u, mamba);
        var (y, dims) = Ort.Run1(inference, u, [B, L, Dm]);
        Assert.Equal([B, L, Dm], dims);
        Reference.AssertClose(expected, y);
        Reference.AssertClose(expected, Ort.Run1(training, u, [B, L, Dm]).Data, what: "training graph");
    }

    [Fact]
    public void LastStepOnlyAndParameterCount()
    {
        var x = Input.Of(L, Dm);
        var mamba = new MambaBlock(dState: N, dConv: K, expand: Expand, returnSequences: false);
        var model = new Functional(x, mamba.Apply(x));
        const int e = Dm * Expand, r = 1;
        Assert.Equal(Dm * 2 * e + e * K + e + e * (r + 2 * N) + r * e + e + e * N + e + e * Dm, mamba.CountParams());
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var u = Reference.Random(B * L * Dm, 3);
        var full = Scan(u, mamba);
        var (y, dims) = Ort.Run1(onnx, u, [B, L, Dm]);
        Assert.Equal([B, Dm], dims);
        Reference.AssertClose(Enumerable.Range(0, B).SelectMany(b => full.Skip((b * L + L - 1) * Dm).Take(Dm)).ToArray(), y);
    }

    [Fact]
    public void RejectsBadArguments() =>
        Assert.Contains("-1", Assert.Throws<ArgumentException>(() => new MambaBlock(dConv: -1)).Message);
}
