namespace NeuralService.Training.Metrics;

/// <summary>Keras metric names → metric objects; <c>accuracy</c> resolves by the loss as Keras does.</summary>
public static class MetricFactory
{
    public static Metric Create(string name, string loss)
    {
        var n = name.ToLowerInvariant();
        return n switch
        {
            "accuracy" or "acc" => loss.Contains("binary", StringComparison.Ordinal) ? new BinaryAccuracy(name) : new CategoricalAccuracy(name),
            "categorical_accuracy" or "sparse_categorical_accuracy" => new CategoricalAccuracy(n),
            "binary_accuracy" => new BinaryAccuracy(n),
            "top_k_categorical_accuracy" or "sparse_top_k_categorical_accuracy" or "top_k" => new TopKAccuracy(5, n),
            "precision" => new Precision(),
            "recall" => new Recall(),
            "auc" => new Auc(),
            "f1" or "f1_score" => new F1Score(n),
            "mae" or "mean_absolute_error" => new MeanAbsoluteError(n),
            "mse" or "mean_squared_error" => new MeanSquaredError(n),
            "rmse" or "root_mean_squared_error" => new RootMeanSquaredError(n),
            _ when n.StartsWith("top_", StringComparison.Ordinal) && n.EndsWith("_accuracy", StringComparison.Ordinal)
                && int.TryParse(n[4..^9], out var k) => new TopKAccuracy(k, n),
            _ => throw new ArgumentException($"unknown metric '{name}'"),
        };
    }
}
