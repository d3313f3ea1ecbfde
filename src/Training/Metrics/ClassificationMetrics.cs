namespace NeuralService.Training.Metrics;

/// <summary>Confusion counts at one threshold over every element (Keras's Precision/Recall on probabilities);
/// for multi-class predictions with sparse targets, each row counts as one-hot target vs one-hot argmax.</summary>
public abstract class ThresholdMetric(string name, float threshold) : Metric(name)
{
    protected double TruePositives, FalsePositives, FalseNegatives;

    public override void Reset() => TruePositives = FalsePositives = FalseNegatives = 0;

    public override void Update(in MetricBatch b)
    {
        for (var r = 0; r < b.Rows; r++)
        {
            var w = b.Weight(r);
            for (var j = 0; j < b.Width; j++)
            {
                bool predicted, actual;
                if (b.SparseTargets)
                {
                    predicted = b.PredictedClass(r) == j;
                    actual = b.TargetClass(r) == j;
                }
                else
                {
                    predicted = b.Predictions[r * b.Width + j] > threshold;
                    actual = b.Targets[r * b.Width + j] > 0.5f;
                }
                if (predicted && actual) TruePositives += w;
                else if (predicted) FalsePositives += w;
                else if (actual) FalseNegatives += w;
            }
        }
    }
}

public sealed class Precision(string name = "precision", float threshold = 0.5f) : ThresholdMetric(name, threshold)
{
    public override double Result() => TruePositives + FalsePositives == 0 ? 0 : TruePositives / (TruePositives + FalsePositives);
}

public sealed class Recall(string name = "recall", float threshold = 0.5f) : ThresholdMetric(name, threshold)
{
    public override double Result() => TruePositives + FalseNegatives == 0 ? 0 : TruePositives / (TruePositives + FalseNegatives);
}

/// <summary>Harmonic mean of micro-averaged precision and recall.</summary>
public sealed class F1Score(string name = "f1_score", float threshold = 0.5f) : ThresholdMetric(name, threshold)
{
    public override double Result()
    {
        var denominator = 2 * TruePositives + FalsePositives + FalseNegatives;
        return denominator == 0 ? 0 : 2 * TruePositives / denominator;
    }
}

/// <summary>ROC AUC from confusion counts at <c>numThresholds</c> evenly spaced thresholds (Keras's AUC, trapezoidal
/// rule over the ROC curve), on every element treated as a binary prediction.</summary>
public sealed class Auc(string name = "auc", int numThresholds = 200) : Metric(name)
{
    private readonly double[] _tp = new double[numThresholds];
    private readonly double[] _fp = new double[numThresholds];
    private readonly double[] _tn = new double[numThresholds];
    private readonly double[] _fn = new double[numThresholds];

    private double Threshold(int i) => i == 0 ? -1e-7 : i == numThresholds - 1 ? 1 + 1e-7 : (double)i / (numThresholds - 1);

    public override void Reset()
    {
        Array.Clear(_tp); Array.Clear(_fp); Array.Clear(_tn); Array.Clear(_fn);
    }

    public override void Update(in MetricBatch b)
    {
        for (var r = 0; r < b.Rows; r++)
            for (var j = 0; j < b.Width; j++)
            {
                var p = b.Predictions[r * b.Width + j];
                var actual = b.SparseTargets ? b.TargetClass(r) == j : b.Targets[r * b.Width + j] > 0.5f;
                var w = b.Weight(r);
                for (var t = 0; t < numThresholds; t++)
                {
                    var positive = p > Threshold(t);
                    if (positive && actual) _tp[t] += w;
                    else if (positive) _fp[t] += w;
                    else if (actual) _fn[t] += w;
                    else _tn[t] += w;
                }
            }
    }

    public override double Result()
    {
        double area = 0;
        for (var t = 0; t < numThresholds - 1; t++)
        {
            double Tpr(int i) => _tp[i] + _fn[i] == 0 ? 0 : _tp[i] / (_tp[i] + _fn[i]);
            double Fpr(int i) => _fp[i] + _tn[i] == 0 ? 0 : _fp[i] / (_fp[i] + _tn[i]);
            area += (Fpr(t) - Fpr(t + 1)) * (Tpr(t) + Tpr(t + 1)) / 2;
        }
        return area;
    }
}
