namespace NeuralService.Graph.Tests.Support;

/// <summary>Plain-loop reference computations and comparisons that tests use as independent judges.</summary>
public static class Reference
{
    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    /// <summary>Asserts elementwise |a−b| ≤ tol·max(1, |b|) (relative error with an absolute floor near zero).</summary>
    public static void AssertClose(float[] expected, float[] actual, double tol = 1e-5, string? what = null)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            var err = Math.Abs(expected[i] - actual[i]) / Math.Max(1.0, Math.Abs(expected[i]));
            if (err > tol || float.IsNaN(actual[i]))
                throw new Xunit.Sdk.XunitException($"{what ?? "values"} differ at {i}: expected {expected[i]}, got {actual[i]} (rel err {err:g3} > {tol})");
        }
    }

    /// <summary>y[b, j] = Σ_i x[b, i]·w[i, j] + bias[j].</summary>
    public static float[] Dense(float[] x, int batch, int inDim, float[] w, int units, float[]? bias)
    {
        var y = new float[batch * units];
        for (var b = 0; b < batch; b++)
            for (var j = 0; j < units; j++)
            {
                double s = bias?[j] ?? 0;
                for (var i = 0; i < inDim; i++) s += (double)x[b * inDim + i] * w[i * units + j];
                y[b * units + j] = (float)s;
            }
        return y;
    }

    public static float[] Softmax(float[] x, int rows, int cols)
    {
        var y = new float[x.Length];
        for (var r = 0; r < rows; r++)
        {
            var max = Enumerable.Range(0, cols).Max(c => x[r * cols + c]);
            var sum = Enumerable.Range(0, cols).Sum(c => Math.Exp(x[r * cols + c] - max));
            for (var c = 0; c < cols; c++) y[r * cols + c] = (float)(Math.Exp(x[r * cols + c] - max) / sum);
        }
        return y;
    }
}
