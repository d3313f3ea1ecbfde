namespace NeuralService.Training.Data;

/// <summary>Array preprocessing helpers from <c>keras.utils</c>.</summary>
public static class Preprocessing
{
    /// <summary>
    /// Keras's <c>to_categorical</c>: class ids y [n, ...] → one-hot float32 [n, ..., C] with C =
    /// <paramref name="numClasses"/> or max(y)+1.
    /// </summary>
    public static DataArray ToCategorical(DataArray labels, int? numClasses = null)
    {
        var y = labels.ToInt64();
        // Keras squeezes a trailing axis of 1 ([n, 1] labels).
        var shape = labels.Shape.ToList();
        if (shape.Count > 1 && shape[^1] == 1) shape.RemoveAt(shape.Count - 1);
        long max = y.Length == 0 ? -1 : y.Max();
        int c = numClasses ?? (int)(max + 1);
        var result = new float[y.Length * c];
        for (int i = 0; i < y.Length; i++)
        {
            if (y[i] < 0 || y[i] >= c) throw new ArgumentOutOfRangeException(nameof(labels), $"label {y[i]} at {i} is outside 0..{c - 1}");
            result[i * c + y[i]] = 1f;
        }
        shape.Add(c);
        return DataArray.Create(result, [.. shape]);
    }

    /// <summary>Keras's <c>utils.normalize</c>: x / ‖x‖_order along the last axis (norm 0 rows stay 0).</summary>
    public static DataArray Normalize(DataArray x, int order = 2)
    {
        if (order <= 0) throw new ArgumentOutOfRangeException(nameof(order), order, "order must be positive");
        var v = x.ToFloat32();
        int last = x.Rank == 1 ? (int)x.Length : x.Shape[^1];
        for (int r = 0; r < v.Length / Math.Max(1, last); r++)
        {
            var row = v.AsSpan(r * last, last);
            double norm = 0;
            foreach (var e in row) norm += Math.Pow(Math.Abs(e), order);
            norm = Math.Pow(norm, 1.0 / order);
            if (norm == 0) continue;
            for (int i = 0; i < row.Length; i++) row[i] = (float)(row[i] / norm);
        }
        return DataArray.Create(v, [.. x.Shape]);
    }

    /// <summary>Keras's <c>Rescaling</c>: y = x·scale + offset, as float32 (e.g. scale 1/255 for images).</summary>
    public static DataArray Rescale(DataArray x, float scale, float offset = 0f)
    {
        var v = x.ToFloat32();
        for (int i = 0; i < v.Length; i++) v[i] = v[i] * scale + offset;
        return DataArray.Create(v, [.. x.Shape]);
    }
}
