using NeuralService.Training.Data;

namespace NeuralService.Training.Tests.Fit;

/// <summary>Small learnable problems generated in the tests.</summary>
internal static class SyntheticData
{
    /// <summary>Three Gaussian blobs in 4-D, sparse integer labels.</summary>
    public static InMemoryDataset Blobs(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n * 4];
        var y = new long[n];
        for (var i = 0; i < n; i++)
        {
            var c = rng.Next(3);
            y[i] = c;
            for (var j = 0; j < 4; j++) x[i * 4 + j] = (float)((j == c ? 2.5 : 0) + rng.NextDouble() * 2 - 1);
        }
        return new InMemoryDataset(DataArray.Create(x, n, 4), DataArray.Create(y, n));
    }
}
