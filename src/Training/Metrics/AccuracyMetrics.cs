namespace NeuralService.Training.Metrics;

/// <summary>Fraction of rows whose argmax matches the target class (one-hot or sparse targets).</summary>
public sealed class CategoricalAccuracy(string name = "accuracy") : MeanMetric(name)
{
    protected override double RowValue(in MetricBatch b, int row) => b.PredictedClass(row) == b.TargetClass(row) ? 1 : 0;
}

/// <summary>Elementwise (prediction &gt; threshold) == target, averaged per row.</summary>
public sealed class BinaryAccuracy(string name = "accuracy", float threshold = 0.5f) : MeanMetric(name)
{
    protected override double RowValue(in MetricBatch b, int row)
    {
        var hits = 0;
        for (var j = 0; j < b.Width; j++)
        {
            var i = row * b.Width + j;
            hits += (b.Predictions[i] > threshold ? 1f : 0f) == b.Targets[i] ? 1 : 0;
        }
        return (double)hits / b.Width;
    }
}

/// <summary>1 when the target class is among the k highest predictions.</summary>
public sealed class TopKAccuracy(int k = 5, string? name = null) : MeanMetric(name ?? $"top_{k}_accuracy")
{
    protected override double RowValue(in MetricBatch b, int row)
    {
        var target = b.TargetClass(row);
        var score = b.Predictions[row * b.Width + target];
        var higher = 0;
        for (var j = 0; j < b.Width; j++) if (b.Predictions[row * b.Width + j] > score) higher++;
        return higher < k ? 1 : 0;
    }
}
