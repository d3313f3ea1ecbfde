namespace NeuralService.Training.Data;

/// <summary>
/// Per-feature scaler over the last axis (features); every other axis counts as samples. Fit, then transform any
/// array with the same feature count. Results are float32; statistics are computed in double.
/// </summary>
public abstract class FeatureScaler
{
    protected double[]? Scale { get; set; }

    protected double[]? Offset { get; set; }

    public bool IsFitted => Scale is not null;

    public int FeatureCount => Scale?.Length ?? throw new InvalidOperationException("scaler is not fitted");

    public void Fit(DataArray x)
    {
        int f = Features(x);
        if (x.Length == 0) throw new ArgumentException("cannot fit a scaler on an empty array", nameof(x));
        FitColumns(x, f, (int)(x.Length / f));
    }

    protected abstract void FitColumns(DataArray x, int features, int rows);

    /// <summary>y = x·scale + offset per feature.</summary>
    public DataArray Transform(DataArray x)
    {
        var (s, o) = Params(x);
        var v = x.ToFloat32();
        for (int i = 0; i < v.Length; i++) v[i] = (float)(v[i] * s[i % s.Length] + o[i % s.Length]);
        return DataArray.Create(v, [.. x.Shape]);
    }

    /// <summary>x = (y − offset) / scale per feature.</summary>
    public DataArray InverseTransform(DataArray y)
    {
        var (s, o) = Params(y);
        var v = y.ToFloat32();
        for (int i = 0; i < v.Length; i++) v[i] = (float)((v[i] - o[i % s.Length]) / s[i % s.Length]);
        return DataArray.Create(v, [.. y.Shape]);
    }

    public DataArray FitTransform(DataArray x)
    {
        Fit(x);
        return Transform(x);
    }

    private (double[] S, double[] O) Params(DataArray x)
    {
        if (Scale is null || Offset is null) throw new InvalidOperationException("scaler is not fitted: call Fit first");
        int f = Features(x);
        if (f != Scale.Length) throw new ArgumentException($"array has {f} features, the scaler was fitted on {Scale.Length}", nameof(x));
        return (Scale, Offset);
    }

    private static int Features(DataArray x) => x.Rank == 1 ? 1 : x.Shape[^1];
}

/// <summary>scikit-learn's MinMaxScaler: x' = (x − min)/(max − min)·(hi − lo) + lo; constant features get range 1.</summary>
public sealed class MinMaxScaler : FeatureScaler
{
    public MinMaxScaler(float low = 0f, float high = 1f)
    {
        if (!(low < high)) throw new ArgumentException($"feature range ({low}, {high}) must have low < high");
        Low = low;
        High = high;
    }

    public float Low { get; }

    public float High { get; }

    public double[] DataMin { get; private set; } = [];

    public double[] DataMax { get; private set; } = [];

    protected override void FitColumns(DataArray x, int features, int rows)
    {
        var min = Enumerable.Repeat(double.PositiveInfinity, features).ToArray();
        var max = Enumerable.Repeat(double.NegativeInfinity, features).ToArray();
        for (long i = 0; i < x.Length; i++)
        {
            double v = x.GetDouble(i);
            int k = (int)(i % features);
            if (v < min[k]) min[k] = v;
            if (v > max[k]) max[k] = v;
        }
        var scale = new double[features];
        var offset = new double[features];
        for (int k = 0; k < features; k++)
        {
            double range = max[k] - min[k];
            if (range == 0) range = 1;
            scale[k] = (High - Low) / range;
            offset[k] = Low - min[k] * scale[k];
        }
        (DataMin, DataMax, Scale, Offset) = (min, max, scale, offset);
    }
}

/// <summary>scikit-learn's StandardScaler: x' = (x − mean)/std with the population std; std 0 is treated as 1.</summary>
public sealed class StandardScaler : FeatureScaler
{
    public double[] Mean { get; private set; } = [];

    public double[] Std { get; private set; } = [];

    protected override void FitColumns(DataArray x, int features, int rows)
    {
        var mean = new double[features];
        for (long i = 0; i < x.Length; i++) mean[i % features] += x.GetDouble(i);
        for (int k = 0; k < features; k++) mean[k] /= rows;
        var var_ = new double[features];
        for (long i = 0; i < x.Length; i++)
        {
            double d = x.GetDouble(i) - mean[i % features];
            var_[i % features] += d * d;
        }
        var std = var_.Select(v => Math.Sqrt(v / rows)).Select(s => s == 0 ? 1 : s).ToArray();
        (Mean, Std) = (mean, std);
        Scale = std.Select(s => 1 / s).ToArray();
        Offset = mean.Zip(std, (m, s) => -m / s).ToArray();
    }
}
