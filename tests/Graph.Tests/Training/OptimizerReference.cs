using NeuralService.Graph.Training;

namespace NeuralService.Graph.Tests.Training;

/// <summary>Keras 3's optimizer updates written as plain loops in double precision (the independent judge of the
/// update graphs): clipping, weight decay, then each optimizer's update_step.</summary>
internal sealed class OptimizerReference(OptimizerSpec spec, IReadOnlyList<double[]> parameters)
{
    private readonly double[][] _p = parameters.Select(p => (double[])p.Clone()).ToArray();
    private readonly Dictionary<(int, string), double[]> _slots = new();
    private double _uProduct = 1;
    private long _iterations;

    public IReadOnlyList<double[]> Parameters => _p;

    /// <summary>Keras casts the base of a bias-correction power to float32 (<c>ops.cast(beta, variable.dtype)</c>);
    /// 1 − β^t then carries that rounding (~1e-5 relative at t = 1), so the reference does the same.</summary>
    private static double F(double x) => (float)x;

    private double[] Slot(int i, string name, double initial = 0)
    {
        if (!_slots.TryGetValue((i, name), out var s)) _slots[(i, name)] = s = Enumerable.Repeat(initial, _p[i].Length).ToArray();
        return s;
    }

    public void Step(IReadOnlyList<double[]> gradients, double lr)
    {
        var grads = Clip(gradients.Select(g => (double[])g.Clone()).ToArray());
        var t = _iterations + 1;
        if (spec is Nadam nadam) _uProduct *= F(nadam.Beta1) * (1 - 0.5 * Math.Pow(F(0.96), t));
        for (var i = 0; i < _p.Length; i++)
        {
            var p = _p[i];
            var g = grads[i];
            if (spec.WeightDecay is { } wd)
                for (var k = 0; k < p.Length; k++) p[k] -= p[k] * wd * lr;
            for (var k = 0; k < p.Length; k++) p[k] = Update(i, k, p[k], g[k], lr, t);
        }
        _iterations++;
    }

    private double Update(int i, int k, double p, double g, double lr, long t)
    {
        switch (spec)
        {
            case Sgd s:
                if (s.Momentum == 0) return p - lr * g;
                var mom = Slot(i, "m");
                mom[k] = s.Momentum * mom[k] - lr * g;
                return s.Nesterov ? p + s.Momentum * mom[k] - lr * g : p + mom[k];
            case Adam a:
            {
                var m = Slot(i, "m");
                var v = Slot(i, "v");
                m[k] += (g - m[k]) * (1 - a.Beta1);
                v[k] += (g * g - v[k]) * (1 - a.Beta2);
                var vv = v[k];
                if (a.Amsgrad)
                {
                    var vh = Slot(i, "vhat");
                    vh[k] = Math.Max(vh[k], v[k]);
                    vv = vh[k];
                }
                var alpha = lr * Math.Sqrt(1 - Math.Pow(F(a.Beta2), t)) / (1 - Math.Pow(F(a.Beta1), t));
                return p - alpha * m[k] / (Math.Sqrt(vv) + a.Epsilon);
            }
            case RmsProp r:
            {
                var v = Slot(i, "v");
                v[k] = r.Rho * v[k] + (1 - r.Rho) * g * g;
                double denominator;
                if (r.Centered)
                {
                    var avg = Slot(i, "avg");
                    avg[k] = r.Rho * avg[k] + (1 - r.Rho) * g;
                    denominator = v[k] - avg[k] * avg[k] + r.Epsilon;
                }
                else denominator = v[k] + r.Epsilon;
                var increment = lr * g / Math.Sqrt(denominator);
                if (r.Momentum <= 0) return p - increment;
                var m = Slot(i, "m");
                m[k] = r.Momentum * m[k] + increment;
                return p - m[k];
            }
            case Adagrad ag:
            {
                var acc = Slot(i, "acc", ag.InitialAccumulatorValue);
                acc[k] += g * g;
                return p - lr * g / Math.Sqrt(acc[k] + ag.Epsilon);
            }
            case Adadelta ad:
            {
                var accG = Slot(i, "accg");
                var accD = Slot(i, "accd");
                accG[k] = ad.Rho * accG[k] + (1 - ad.Rho) * g * g;
                var delta = -Math.Sqrt(accD[k] + ad.Epsilon) * g / Math.Sqrt(accG[k] + ad.Epsilon);
                accD[k] = ad.Rho * accD[k] + (1 - ad.Rho) * delta * delta;
                return p + lr * delta;
            }
            case Adamax ax:
            {
                var m = Slot(i, "m");
                var u = Slot(i, "u");
                m[k] += (g - m[k]) * (1 - ax.Beta1);
                u[k] = Math.Max(ax.Beta2 * u[k], Math.Abs(g));
                return p - lr * m[k] / ((1 - Math.Pow(F(ax.Beta1), t)) * (u[k] + ax.Epsilon));
            }
            case Nadam n:
            {
                var m = Slot(i, "m");
                var v = Slot(i, "v");
                var uT = F(n.Beta1) * (1 - 0.5 * Math.Pow(F(0.96), t));
                var uT1 = F(n.Beta1) * (1 - 0.5 * Math.Pow(F(0.96), t + 1));
                var productT1 = _uProduct * uT1;
                m[k] += (g - m[k]) * (1 - n.Beta1);
                v[k] += (g * g - v[k]) * (1 - n.Beta2);
                var mHat = uT1 * m[k] / (1 - productT1) + (1 - uT) * g / (1 - _uProduct);
                var vHat = v[k] / (1 - Math.Pow(F(n.Beta2), t));
                return p - lr * mHat / (Math.Sqrt(vHat) + n.Epsilon);
            }
            default:
                throw new NotSupportedException(spec.Name);
        }
    }

    private double[][] Clip(double[][] grads)
    {
        if (spec.ClipValue is { } cv) return grads.Select(g => g.Select(x => Math.Clamp(x, -cv, cv)).ToArray()).ToArray();
        if (spec.ClipNorm is { } cn)
            return grads.Select(g =>
            {
                var norm = Math.Sqrt(g.Sum(x => x * x));
                return g.Select(x => x * cn / Math.Max(norm, cn)).ToArray();
            }).ToArray();
        if (spec.GlobalClipNorm is { } gn)
        {
            var norm = Math.Sqrt(grads.Sum(g => g.Sum(x => x * x)));
            var scale = norm <= gn ? 1 : gn / norm;
            return grads.Select(g => g.Select(x => x * scale).ToArray()).ToArray();
        }
        return grads;
    }
}
