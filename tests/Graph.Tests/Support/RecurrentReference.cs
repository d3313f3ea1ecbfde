namespace NeuralService.Graph.Tests.Support;

/// <summary>Plain-loop Keras recurrent cells (weights in Keras's layout: kernel [F, G·H], recurrent_kernel [H, G·H]).</summary>
public static class RecurrentReference
{
    public sealed record Result(float[] Sequence, float[] H, float[]? C);

    /// <summary>Runs <paramref name="kind"/> ("SimpleRNN", "LSTM", "GRU") over x[B, T, F]. The sequence is in processing
    /// order (reversed when <paramref name="goBackwards"/>), as Keras returns it. Masked steps keep the states; their
    /// output is the previous output, or zero when <paramref name="zeroOutputForMask"/>.</summary>
    public static Result Run(string kind, float[] x, int batch, int time, int features, int units,
        float[] kernel, float[] recurrent, float[]? bias, string activation = "tanh", string recurrentActivation = "sigmoid",
        bool resetAfter = true, bool goBackwards = false, bool[]? mask = null, bool zeroOutputForMask = false,
        float[]? h0 = null, float[]? c0 = null)
    {
        var gates = kind switch { "SimpleRNN" => 1, "LSTM" => 4, _ => 3 };
        var width = gates * units;
        var seq = new float[batch * time * units];
        var hOut = new float[batch * units];
        var cOut = new float[batch * units];
        for (var b = 0; b < batch; b++)
        {
            var h = new double[units];
            var c = new double[units];
            for (var j = 0; j < units; j++)
            {
                h[j] = h0?[b * units + j] ?? 0;
                c[j] = c0?[b * units + j] ?? 0;
            }
            for (var step = 0; step < time; step++)
            {
                var t = goBackwards ? time - 1 - step : step;
                var xp = new double[width];
                var hp = new double[width];
                for (var k = 0; k < width; k++)
                {
                    double s = 0;
                    for (var f = 0; f < features; f++) s += x[(b * time + t) * features + f] * (double)kernel[f * width + k];
                    xp[k] = s + (bias?[k] ?? 0);
                    double r = 0;
                    for (var j = 0; j < units; j++) r += h[j] * recurrent[j * width + k];
                    hp[k] = r + (kind == "GRU" && resetAfter && bias is not null ? bias[width + k] : 0);
                }
                var hNew = new double[units];
                var cNew = new double[units];
                for (var j = 0; j < units; j++)
                {
                    switch (kind)
                    {
                        case "SimpleRNN":
                            hNew[j] = Act(activation, xp[j] + hp[j]);
                            break;
                        case "LSTM":
                            var i = Act(recurrentActivation, xp[j] + hp[j]);
                            var fg = Act(recurrentActivation, xp[units + j] + hp[units + j]);
                            var cc = Act(activation, xp[2 * units + j] + hp[2 * units + j]);
                            var o = Act(recurrentActivation, xp[3 * units + j] + hp[3 * units + j]);
                            cNew[j] = fg * c[j] + i * cc;
                            hNew[j] = o * Act(activation, cNew[j]);
                            break;
                        default:
                            var z = Act(recurrentActivation, xp[j] + hp[j]);
                            var rg = Act(recurrentActivation, xp[units + j] + hp[units + j]);
                            double inner;
                            if (resetAfter) inner = rg * hp[2 * units + j];
                            else
                            {
                                // (r ⊙ h)·U_h needs every unit's reset gate.
                                inner = 0;
                                for (var m = 0; m < units; m++)
                                {
                                    var rm = Act(recurrentActivation, xp[units + m] + hp[units + m]);
                                    inner += rm * h[m] * recurrent[m * width + 2 * units + j];
                                }
                            }
                            var hh = Act(activation, xp[2 * units + j] + inner);
                            hNew[j] = z * h[j] + (1 - z) * hh;
                            break;
                    }
                }
                var on = mask is null || mask[b * time + t];
                for (var j = 0; j < units; j++)
                {
                    if (on)
                    {
                        h[j] = hNew[j];
                        c[j] = cNew[j];
                    }
                    seq[(b * time + step) * units + j] = (float)(on || !zeroOutputForMask ? h[j] : 0);
                }
            }
            for (var j = 0; j < units; j++)
            {
                hOut[b * units + j] = (float)h[j];
                cOut[b * units + j] = (float)c[j];
            }
        }
        return new Result(seq, hOut, kind == "LSTM" ? cOut : null);
    }

    /// <summary>Reverses [B, T, H] along time.</summary>
    public static float[] ReverseTime(float[] v, int batch, int time, int units)
    {
        var r = new float[v.Length];
        for (var b = 0; b < batch; b++)
            for (var t = 0; t < time; t++)
                Array.Copy(v, (b * time + t) * units, r, (b * time + time - 1 - t) * units, units);
        return r;
    }

    public static double Act(string name, double v) => name switch
    {
        "tanh" => Math.Tanh(v),
        "sigmoid" => 1 / (1 + Math.Exp(-v)),
        "relu" => Math.Max(0, v),
        "hard_sigmoid" => Math.Clamp(v / 6 + 0.5, 0, 1),
        "linear" => v,
        "softsign" => v / (1 + Math.Abs(v)),
        _ => throw new ArgumentException($"no reference for activation '{name}'"),
    };
}
