namespace NeuralService.Training.Metrics;

/// <summary>A batch of targets and predictions for one model output, flattened row-major: <see cref="Rows"/> samples
/// of <see cref="Width"/> prediction values each; sparse targets have one class index per row.</summary>
public readonly record struct MetricBatch(float[] Targets, float[] Predictions, int Rows, int Width, float[]? SampleWeights)
{
    public bool SparseTargets => Targets.Length == Rows && Width > 1;
    public float Weight(int row) => SampleWeights?[row] ?? 1f;
    /// <summary>The target class of a row: the index itself when sparse, else the argmax of the one-hot row.</summary>
    public int TargetClass(int row) => SparseTargets ? (int)Targets[row] : ArgMax(Targets, row * Width, Width);
    public int PredictedClass(int row) => ArgMax(Predictions, row * Width, Width);

    private static int ArgMax(float[] a, int offset, int n)
    {
        var best = 0;
        for (var i = 1; i < n; i++) if (a[offset + i] > a[offset + best]) best = i;
        return best;
    }
}

/// <summary>A stateful metric accumulated over batches, as Keras's metrics are (reset each epoch).</summary>
public abstract class Metric
{
    protected Metric(string name) => Name = name;

    public string Name { get; }
    public abstract void Reset();
    public abstract void Update(in MetricBatch batch);
    public abstract double Result();
}

/// <summary>A weighted mean of a per-row value.</summary>
public abstract class MeanMetric(string name) : Metric(name)
{
    private double _total;
    private double _count;

    protected abstract double RowValue(in MetricBatch batch, int row);

    public override void Reset() => (_total, _count) = (0, 0);

    public override void Update(in MetricBatch batch)
    {
        for (var r = 0; r < batch.Rows; r++)
        {
            var w = batch.Weight(r);
            _total += w * RowValue(batch, r);
            _count += w;
        }
    }

    public override double Result() => _count == 0 ? 0 : _total / _count;
}
