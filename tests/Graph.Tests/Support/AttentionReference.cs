using NeuralService.Graph.Layers;

namespace NeuralService.Graph.Tests.Support;

/// <summary>Plain-loop references for the attention, normalization and sequence layers (double accumulation).</summary>
public static class AttentionReference
{
    /// <summary>Fills every weight of <paramref name="layer"/> with seeded random values (so biases and scales matter).</summary>
    public static void Randomize(Layer layer, int seed, float scale = 0.5f)
    {
        foreach (var w in layer.Weights) w.Assign(Reference.Random((int)w.Size, seed++, scale));
    }

    /// <summary>Per row of <paramref name="cols"/> values: (x − mean)/√(var + ε)·γ + β, or x/√(var + ε)·γ when rms (Keras's rms_scaling).</summary>
    public static float[] LayerNorm(float[] x, int cols, float[]? gamma, float[]? beta, double eps, bool rms = false)
    {
        var y = new float[x.Length];
        for (var r = 0; r < x.Length / cols; r++)
        {
            double mean = 0, sq = 0;
            for (var c = 0; c < cols; c++) mean += x[r * cols + c];
            mean /= cols;
            for (var c = 0; c < cols; c++)
            {
                var d = x[r * cols + c] - mean;
                sq += d * d;
            }
            var inv = 1 / Math.Sqrt(sq / cols + eps);
            for (var c = 0; c < cols; c++)
            {
                var v = ((rms ? x[r * cols + c] : x[r * cols + c] - mean) * inv) * (gamma?[c] ?? 1) + (beta?[c] ?? 0);
                y[r * cols + c] = (float)v;
            }
        }
        return y;
    }

    /// <summary>Numerically careful softmax of one row where masked entries are −1e9 (as Keras does).</summary>
    public static double[] MaskedSoftmax(double[] s, Func<int, bool> keep)
    {
        var z = s.Select((v, i) => keep(i) ? v : -1e9).ToArray();
        var max = z.Max();
        var e = z.Select(v => Math.Exp(v - max)).ToArray();
        var sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    /// <summary>y[b,t,:] = Σ_c x[b,t,c]·W[c, :] + bias for a [rows, inDim] input and [inDim, outDim] kernel.</summary>
    public static double[] Project(float[] x, int rows, int inDim, float[] w, int outDim, float[]? bias)
    {
        var y = new double[rows * outDim];
        for (var r = 0; r < rows; r++)
            for (var o = 0; o < outDim; o++)
            {
                double s = bias?[o] ?? 0;
                for (var c = 0; c < inDim; c++) s += (double)x[r * inDim + c] * w[c * outDim + o];
                y[r * outDim + o] = s;
            }
        return y;
    }

    /// <summary>Keras MultiHeadAttention on q [B,T,dq], v [B,S,dv], k [B,S,dk] with Keras-layout weights:
    /// wq [dq,H,kd], bq [H,kd], wk, bk, wv [dv,H,vd], bv, wo [H,vd,out], bo [out]. keep(b, t, s) says which scores stay;
    /// the optional gate (wg [dq,H,vd], bg) multiplies the heads by sigmoid(q·wg + bg).</summary>
    public static float[] MultiHead(float[] q, float[] v, float[] k, int batch, int t, int s, int dq, int dv, int dk, int heads, int kd, int vd,
        IReadOnlyList<float[]> w, int outDim, Func<int, int, int, bool> keep, float[]? gateKernel = null, float[]? gateBias = null)
    {
        var gate = gateKernel is null ? null : Project(q, batch * t, dq, gateKernel, heads * vd, gateBias).Select(z => 1 / (1 + Math.Exp(-z))).ToArray();
        var qp = Project(q, batch * t, dq, w[0], heads * kd, w[1]);
        var kp = Project(k, batch * s, dk, w[2], heads * kd, w[3]);
        var vp = Project(v, batch * s, dv, w[4], heads * vd, w[5]);
        var y = new float[batch * t * outDim];
        for (var b = 0; b < batch; b++)
            for (var i = 0; i < t; i++)
            {
                var ctx = new double[heads * vd];
                for (var h = 0; h < heads; h++)
                {
                    var scores = new double[s];
                    for (var j = 0; j < s; j++)
                    {
                        double dot = 0;
                        for (var e = 0; e < kd; e++) dot += qp[(b * t + i) * heads * kd + h * kd + e] * kp[(b * s + j) * heads * kd + h * kd + e];
                        scores[j] = dot / Math.Sqrt(kd);
                    }
                    var p = MaskedSoftmax(scores, j => keep(b, i, j));
                    for (var f = 0; f < vd; f++)
                        for (var j = 0; j < s; j++) ctx[h * vd + f] += p[j] * vp[(b * s + j) * heads * vd + h * vd + f];
                }
                if (gate is not null)
                    for (var hf = 0; hf < heads * vd; hf++) ctx[hf] *= gate[(b * t + i) * heads * vd + hf];
                for (var o = 0; o < outDim; o++)
                {
                    double sum = w.Count > 7 ? w[7][o] : 0;
                    for (var hf = 0; hf < heads * vd; hf++) sum += ctx[hf] * w[6][hf * outDim + o];
                    y[(b * t + i) * outDim + o] = (float)sum;
                }
            }
        return y;
    }
}
