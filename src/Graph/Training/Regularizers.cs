using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;

namespace NeuralService.Graph.Training;

/// <summary>Keras weight regularizers as loss terms: L1 = l1·Σ|w|, L2 = l2·Σw², L1L2 = both.</summary>
public static class Regularizers
{
    /// <summary>Keras's factor when a regularizer is named by string (<c>"l2"</c>, <c>"l1_l2"</c>).</summary>
    public const double DefaultFactor = 0.01;

    /// <summary>The (l1, l2) factors of a Keras regularizer spec. A bare name takes Keras's 0.01 for each of its terms;
    /// a serialized L1L2 takes 0 for a missing factor, as its constructor does.</summary>
    public static (double L1, double L2) Factors(ObjectSpec spec)
    {
        var bare = spec.Config is null;
        return spec.SnakeName switch
        {
            "l1" => (spec.GetDouble("l1", DefaultFactor), 0),
            "l2" => (0, spec.GetDouble("l2", DefaultFactor)),
            "l1_l2" or "l1l2" => (spec.GetDouble("l1", bare ? DefaultFactor : 0), spec.GetDouble("l2", bare ? DefaultFactor : 0)),
            _ => throw new ArgumentException($"regularizer '{spec.ClassName}' is not supported (l1, l2, l1_l2 are)"),
        };
    }

    /// <summary>The penalty of one weight, a float scalar, or null when both factors are 0.</summary>
    public static Value? Penalty(GraphBuilder g, ObjectSpec spec, Value weight)
    {
        var (l1, l2) = Factors(spec);
        Value? total = null;
        if (l1 != 0) total = g.Mul(g.F(l1, "l1"), g.SumAll(g.Abs(weight)));
        if (l2 != 0)
        {
            var t = g.Mul(g.F(l2, "l2"), g.SumAll(g.Square(weight)));
            total = total is null ? t : g.Add(total, t);
        }
        return total;
    }

    /// <summary>Σ of the penalties of every regularized weight, or null when there are none.</summary>
    public static Value? Total(GraphBuilder g, IEnumerable<(ObjectSpec Spec, Value Weight)> terms)
    {
        using var _ = g.Scope("regularization");
        Value? total = null;
        foreach (var (spec, w) in terms)
            if (Penalty(g, spec, w) is { } p)
                total = total is null ? p : g.Add(total, p);
        return total;
    }
}
