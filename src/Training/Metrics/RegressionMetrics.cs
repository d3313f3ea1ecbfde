namespace NeuralService.Training.Metrics;

public sealed class MeanAbsoluteError(string name = "mae") : MeanMetric(name)
{
    protected override double RowValue(in MetricBatch b, int row)
    {
        double s = 0;
        for (var j = 0; j < b.Width; j++) s += Math.Abs(b.Predictions[row * b.Width + j] - b.Targets[row * b.Width + j]);
        return s / b.Width;
    }
}

public sealed class MeanSquaredError(string name = "mse") : MeanMetric(name)
{
    protected override double RowValue(in MetricBatch b, int row) => Squared(b, row);

    internal static double Squared(in MetricBatch b, int row)
    {
        double s = 0;
        for (var j = 0; j < b.Width; j++)
        {
            var d = b.Predictions[row * b.Width + j] - b.Targets[row * b.Width + j];
            s += d * d;
        }
        return s / b.Width;
    }
}

/// <summary>√ of the mean squared error over all rows seen (not a mean of per-batch roots).</summary>
public sealed class RootMeanSquaredError(string name = "rmse") : Metric(name)
{
    private readonly MeanSquaredError _mse = new();
    public override void Reset() => _mse.Reset();
    public override void Update(in MetricBatch batch) => _mse.Update(batch);
    public override double Result() => Math.Sqrt(_mse.Result());
}
