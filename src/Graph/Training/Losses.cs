using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Training;

/// <summary>Keras losses as ONNX subgraphs. Per-sample losses reduce the last axis (Keras's <c>axis=-1</c>), then
/// <see cref="Reduce"/> applies sample weights and the reduction.</summary>
public static class Losses
{
    /// <summary>Keras's <c>backend.epsilon()</c>, the clipping margin for probabilities.</summary>
    public const double Epsilon = 1e-7;

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["mean_squared_error"] = "mean_squared_error", ["mse"] = "mean_squared_error", ["MSE"] = "mean_squared_error",
        ["MeanSquaredError"] = "mean_squared_error",
        ["mean_absolute_error"] = "mean_absolute_error", ["mae"] = "mean_absolute_error", ["MAE"] = "mean_absolute_error",
        ["MeanAbsoluteError"] = "mean_absolute_error",
        ["huber"] = "huber", ["huber_loss"] = "huber", ["Huber"] = "huber",
        ["binary_crossentropy"] = "binary_crossentropy", ["BinaryCrossentropy"] = "binary_crossentropy", ["bce"] = "binary_crossentropy",
        ["categorical_crossentropy"] = "categorical_crossentropy", ["CategoricalCrossentropy"] = "categorical_crossentropy",
        ["sparse_categorical_crossentropy"] = "sparse_categorical_crossentropy",
        ["SparseCategoricalCrossentropy"] = "sparse_categorical_crossentropy",
        ["kl_divergence"] = "kl_divergence", ["kld"] = "kl_divergence", ["KLD"] = "kl_divergence",
        ["kullback_leibler_divergence"] = "kl_divergence", ["KLDivergence"] = "kl_divergence",
    };

    /// <summary>Keras's canonical name for a loss name or alias.</summary>
    public static string Canonical(string name) =>
        Aliases.TryGetValue(name, out var c) ? c
        : throw new ArgumentException($"unknown loss '{name}'; known: {string.Join(", ", Aliases.Values.Distinct())}");

    public static bool IsKnown(string name) => Aliases.ContainsKey(name);

    /// <summary>The reduced loss of one output: per-sample loss, × class weight of each label, × sample weight, reduced.</summary>
    public static Value Build(GraphBuilder g, LossSpec spec, Value yTrue, Value yPred, Value? sampleWeight = null)
    {
        using var _ = g.Scope(spec.Name);
        var perSample = PerSample(g, spec, yTrue, yPred);
        var weight = sampleWeight;
        if (spec.ClassWeights is { Count: > 0 } cw)
        {
            var byClass = ClassWeightOf(g, cw, spec, yTrue, yPred);
            weight = weight is null ? byClass : g.Mul(byClass, Align(g, weight, byClass.Rank));
        }
        return Reduce(g, perSample, weight, spec.Reduction, CountFromLabels(g, spec, yTrue, perSample));
    }

    /// <summary>The number of per-sample losses read off the labels, so that no Size node sits on the gradient path
    /// from the parameters (its int64 output has no gradient, but the autodiff would still have to step over it).</summary>
    private static Value CountFromLabels(GraphBuilder g, LossSpec spec, Value yTrue, Value losses)
    {
        if (losses.Shape.ElementCount is { } n) return g.F(n, "count");
        var size = g.Cast(g.Node1("Size", [yTrue]), DataType.Float);
        if (spec.SparseLabels) return size;
        return yTrue.Rank > 0 && yTrue.Shape[-1].IsKnown ? g.Div(size, g.F(yTrue.Shape[-1].Known, "classes")) : g.CountOf(losses);
    }

    /// <summary>The unweighted loss of each sample (y_pred's shape without its last axis).</summary>
    public static Value PerSample(GraphBuilder g, LossSpec spec, Value yTrue, Value yPred)
    {
        if (yPred.DType != DataType.Float) throw new ShapeException($"loss '{spec.Name}': y_pred must be float32, got {yPred.DType}");
        if (!spec.SparseLabels) yTrue = g.Cast(yTrue, DataType.Float);
        return spec.Name switch
        {
            "mean_squared_error" => g.MeanLast(g.Square(g.Sub(yPred, yTrue))),
            "mean_absolute_error" => g.MeanLast(g.Abs(g.Sub(yPred, yTrue))),
            "huber" => Huber(g, yTrue, yPred, spec.Delta),
            "binary_crossentropy" => BinaryCrossentropy(g, Smooth(g, yTrue, spec.LabelSmoothing, 2), yPred, spec.FromLogits),
            "categorical_crossentropy" => CategoricalCrossentropy(g, Smooth(g, yTrue, spec.LabelSmoothing, ClassCount(yPred, spec)), yPred, spec.FromLogits),
            "sparse_categorical_crossentropy" => CategoricalCrossentropy(g, OneHot(g, yTrue, yPred), yPred, spec.FromLogits),
            "kl_divergence" => KlDivergence(g, yTrue, yPred),
            _ => throw new ArgumentException($"loss '{spec.Name}' has no graph form"),
        };
    }

    /// <summary>Weights the per-sample losses and reduces them: Σ(w·l) for <c>sum</c>, Σ(w·l)/count(l) for
    /// <c>sum_over_batch_size</c>, w·l for <c>none</c>. A weight of lower rank (one per sample) broadcasts over the
    /// trailing axes of the losses.</summary>
    public static Value Reduce(GraphBuilder g, Value losses, Value? weight, Reduction reduction, Value? count = null)
    {
        var weighted = weight is null ? losses : g.Mul(losses, Align(g, g.Cast(weight, DataType.Float), losses.Rank));
        return reduction switch
        {
            Reduction.None => weighted,
            Reduction.Sum => g.SumAll(weighted),
            _ => g.Div(g.SumAll(weighted), count ?? g.CountOf(losses)),
        };
    }

    /// <summary>½e² where |e| ≤ δ, δ|e| − ½δ² beyond, averaged over the last axis; e = y_pred − y_true.</summary>
    private static Value Huber(GraphBuilder g, Value yTrue, Value yPred, double delta)
    {
        var e = g.Sub(yPred, yTrue);
        var a = g.Abs(e);
        var quadratic = g.Mul(g.F(0.5), g.Square(e));
        var linear = g.Sub(g.Mul(g.F(delta), a), g.F(0.5 * delta * delta));
        return g.MeanLast(g.Where(g.Less(g.F(delta), a), linear, quadratic));
    }

    /// <summary>Probabilities: −mean(t·log p + (1−t)·log(1−p)), p clipped to [ε, 1−ε]. Logits x, in the stable form:
    /// mean(max(x, 0) − x·t + log(1 + e^−|x|)).</summary>
    private static Value BinaryCrossentropy(GraphBuilder g, Value t, Value y, bool fromLogits)
    {
        if (fromLogits)
        {
            var softplus = g.Node1("Softplus", [g.Neg(g.Abs(y))]);
            return g.MeanLast(g.Add(g.Sub(g.Max(y, g.F(0)), g.Mul(y, t)), softplus));
        }
        var p = g.Clip(y, Epsilon, 1 - Epsilon);
        var one = g.F(1);
        var ll = g.Add(g.Mul(t, g.Log(p)), g.Mul(g.Sub(one, t), g.Log(g.Sub(one, p))));
        return g.Neg(g.MeanLast(ll));
    }

    /// <summary>Probabilities: −Σ t·log(clip(p/Σp, ε, 1−ε)); logits: −Σ t·log_softmax(x).</summary>
    private static Value CategoricalCrossentropy(GraphBuilder g, Value t, Value y, bool fromLogits)
    {
        Value logP;
        if (fromLogits) logP = g.Node1("LogSoftmax", [y], [Attr.Int("axis", -1)]);
        else logP = g.Log(g.Clip(g.Div(y, g.SumLast(y, keepDims: true)), Epsilon, 1 - Epsilon));
        return g.Neg(g.SumLast(g.Mul(t, logP)));
    }

    /// <summary>Σ t·log(t/p) with both clipped to [ε, 1].</summary>
    private static Value KlDivergence(GraphBuilder g, Value yTrue, Value yPred)
    {
        var t = g.Clip(yTrue, Epsilon, 1);
        var p = g.Clip(yPred, Epsilon, 1);
        return g.SumLast(g.Mul(t, g.Log(g.Div(t, p))));
    }

    private static Value Smooth(GraphBuilder g, Value t, double smoothing, long classes) =>
        smoothing == 0 ? t : g.Add(g.Mul(t, g.F(1 - smoothing)), g.F(smoothing / classes));

    private static long ClassCount(Value yPred, LossSpec spec) =>
        yPred.Rank > 0 && yPred.Shape[-1].IsKnown ? yPred.Shape[-1].Known
        : spec.LabelSmoothing == 0 ? 0 : throw new ShapeException($"loss '{spec.Name}': label smoothing needs a known class count, y_pred is {yPred.Shape}");

    /// <summary>Integer labels ([..] or [.., 1]) as float one-hot rows matching y_pred's last axis.</summary>
    private static Value OneHot(GraphBuilder g, Value labels, Value yPred)
    {
        labels = SparseLabels(g, labels, yPred);
        var classes = yPred.Shape[-1].IsKnown ? yPred.Shape[-1].Known
            : throw new ShapeException($"sparse_categorical_crossentropy needs a known class count, y_pred is {yPred.Shape}");
        return g.Node1("OneHot", [labels, g.ScalarLong(classes, "depth"), g.Constant([0f, 1f], [2], "onoff")], [Attr.Int("axis", -1)]);
    }

    private static Value SparseLabels(GraphBuilder g, Value labels, Value yPred)
    {
        if (labels.DType is DataType.Float or DataType.Double) labels = g.Cast(labels, DataType.Int64);
        if (labels.Rank == yPred.Rank) labels = g.Node1("Squeeze", [labels, g.Ints(-1)]);
        return labels;
    }

    /// <summary>Keras turns class_weight into sample weights: the factor of each sample's class (a Gather into a table).</summary>
    private static Value ClassWeightOf(GraphBuilder g, IReadOnlyDictionary<int, double> weights, LossSpec spec, Value yTrue, Value yPred)
    {
        if (weights.Keys.Any(k => k < 0)) throw new ArgumentException($"class weights need non-negative class indices, got {weights.Keys.Min()}");
        var classes = Math.Max(weights.Keys.Max() + 1, yPred.Rank > 0 && yPred.Shape[-1].IsKnown ? (int)yPred.Shape[-1].Known : 0);
        var table = Enumerable.Range(0, classes).Select(c => (float)weights.GetValueOrDefault(c, 1.0)).ToArray();
        Value index;
        if (spec.SparseLabels) index = SparseLabels(g, yTrue, yPred);
        else if (yTrue.Rank > 1 && yTrue.Shape[-1] is { IsKnown: true, Known: > 1 })
            index = g.Node1("ArgMax", [yTrue], [Attr.Int("axis", -1), Attr.Int("keepdims", 0)]);
        else
        {
            // Binary labels: the class is the rounded label, with a trailing axis of 1 dropped.
            var t = yTrue.Rank > 1 && yTrue.Shape[-1] is { IsKnown: true, Known: 1 } ? g.Node1("Squeeze", [yTrue, g.Ints(-1)]) : yTrue;
            index = g.Cast(g.Node1("Round", [g.Cast(t, DataType.Float)]), DataType.Int64);
        }
        return g.Node1("Gather", [g.Constant(table, [classes], "class_weights"), index], [Attr.Int("axis", 0)]);
    }

    /// <summary>Appends trailing axes of 1 so a per-sample weight broadcasts against losses of rank <paramref name="rank"/>.</summary>
    private static Value Align(GraphBuilder g, Value w, int rank)
    {
        if (w.Rank >= rank) return w;
        return g.Node1("Unsqueeze", [w, g.Ints(Enumerable.Range(w.Rank, rank - w.Rank).Select(i => (long)i).ToArray())]);
    }
}
