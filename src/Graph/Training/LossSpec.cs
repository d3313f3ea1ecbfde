namespace NeuralService.Graph.Training;

/// <summary>How per-sample losses become one value (Keras's <c>reduction</c>).</summary>
public enum Reduction
{
    /// <summary>Σ(weighted losses) / number of loss elements: Keras's default.</summary>
    SumOverBatchSize,
    Sum,
    /// <summary>The weighted per-sample losses, unreduced.</summary>
    None,
}

/// <summary>One loss of a compiled model, with Keras's arguments and defaults. <see cref="Name"/> is a Keras name or
/// alias (<c>mse</c>, <c>MeanSquaredError</c>, <c>categorical_crossentropy</c>…).</summary>
public sealed record LossSpec
{
    public LossSpec(string name)
    {
        Name = Losses.Canonical(name);
    }

    /// <summary>Keras's canonical function name (<c>mean_squared_error</c>).</summary>
    public string Name { get; }
    /// <summary>y_pred are logits rather than probabilities (the cross-entropies).</summary>
    public bool FromLogits { get; init; }
    /// <summary>In [0, 1]: binary targets become t·(1−s) + s/2, categorical ones t·(1−s) + s/C.</summary>
    public double LabelSmoothing
    {
        get => _labelSmoothing;
        init => _labelSmoothing = value is >= 0 and <= 1 ? value : throw new ArgumentException($"label_smoothing must be in [0, 1], got {value}");
    }
    /// <summary>Huber's switch point between the quadratic and linear parts.</summary>
    public double Delta
    {
        get => _delta;
        init => _delta = value > 0 ? value : throw new ArgumentException($"huber delta must be positive, got {value}");
    }
    public Reduction Reduction { get; init; } = Reduction.SumOverBatchSize;
    /// <summary>This output's factor in the total loss of a multi-output model (Keras's <c>loss_weights</c>).</summary>
    public double Weight { get; init; } = 1.0;
    /// <summary>Keras's <c>class_weight</c>: class index → factor; classes not listed weigh 1. Each sample's weight is
    /// looked up by its label (the argmax of one-hot labels, the rounded value of binary ones).</summary>
    public IReadOnlyDictionary<int, double>? ClassWeights { get; init; }

    private readonly double _labelSmoothing;
    private readonly double _delta = 1.0;

    /// <summary>Labels are integer class indices rather than a tensor shaped like y_pred.</summary>
    public bool SparseLabels => Name == "sparse_categorical_crossentropy";

    public static implicit operator LossSpec(string name) => new(name);
}
