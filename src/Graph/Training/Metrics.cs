using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Training;

/// <summary>Batch metrics as float scalars (the mean over the batch; the trainer averages batches).</summary>
public static class Metrics
{
    /// <summary>Keras's canonical metric name; <c>accuracy</c>/<c>acc</c> resolve by the loss, as Keras's compile does.</summary>
    public static string Canonical(string name, LossSpec loss) => name switch
    {
        "accuracy" or "acc" => loss.Name switch
        {
            "binary_crossentropy" => "binary_accuracy",
            "sparse_categorical_crossentropy" => "sparse_categorical_accuracy",
            _ => "categorical_accuracy",
        },
        "binary_accuracy" or "categorical_accuracy" or "sparse_categorical_accuracy" => name,
        _ when Losses.IsKnown(name) => Losses.Canonical(name),
        _ => throw new ArgumentException($"unknown metric '{name}'"),
    };

    /// <summary>The metric's value on this batch, under the name it is reported by.</summary>
    public static Value Build(GraphBuilder g, string name, LossSpec loss, Value yTrue, Value yPred)
    {
        var canonical = Canonical(name, loss);
        using var _ = g.Scope(canonical);
        return canonical switch
        {
            // mean(cast(y_pred > 0.5) == y_true)
            "binary_accuracy" => MeanOf(g, g.Node1("Equal", [
                g.Cast(g.Node1("Greater", [yPred, g.F(0.5)]), DataType.Float), g.Cast(yTrue, DataType.Float)])),
            // mean(argmax(y_pred) == argmax(y_true))
            "categorical_accuracy" => MeanOf(g, g.Node1("Equal", [ArgMax(g, yPred), ArgMax(g, g.Cast(yTrue, DataType.Float))])),
            // mean(argmax(y_pred) == y_true)
            "sparse_categorical_accuracy" => MeanOf(g, g.Node1("Equal", [ArgMax(g, yPred), SparseLabels(g, yTrue, yPred)])),
            _ => Losses.Build(g, new LossSpec(canonical), yTrue, yPred),
        };
    }

    private static Value ArgMax(GraphBuilder g, Value x) => g.Node1("ArgMax", [x], [Attr.Int("axis", -1), Attr.Int("keepdims", 0)]);

    private static Value SparseLabels(GraphBuilder g, Value labels, Value yPred)
    {
        labels = g.Cast(labels, DataType.Int64);
        return labels.Rank == yPred.Rank ? g.Node1("Squeeze", [labels, g.Ints(-1)]) : labels;
    }

    private static Value MeanOf(GraphBuilder g, Value matches)
    {
        var f = g.Cast(matches, DataType.Float);
        return g.Div(g.SumAll(f), g.CountOf(f));
    }
}
