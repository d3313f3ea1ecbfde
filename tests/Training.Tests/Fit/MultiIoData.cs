using NeuralService.Graph.Keras;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Fit;

/// <summary>The seed's two-input and two-output models (onnx-models/specs) and small learnable data for them.</summary>
internal static class MultiIoData
{
    public static readonly DeviceOptions Cpu = new() { Kind = DeviceKind.Cpu, IntraOpThreads = 1 };

    /// <summary>title_features [32] + numeric_features [16] → priority (one sigmoid unit).</summary>
    public static Model TwoInput() => KerasModelJson.ReadFile(Path.Combine(RepoPaths.Specs, "two_input.json"));

    /// <summary>features [64] → category (softmax 10) and score (linear 1).</summary>
    public static Model TwoOutput() => KerasModelJson.ReadFile(Path.Combine(RepoPaths.Specs, "two_output.json"));

    /// <summary>Title and numeric features by order; priority 1 when title[0] + numeric[0] > 0.</summary>
    public static (DataArray Title, DataArray Numeric, DataArray Priority) TwoInputArrays(int n, int seed)
    {
        var rng = new Random(seed);
        var title = Gaussian(rng, n * 32);
        var numeric = Gaussian(rng, n * 16);
        var y = Enumerable.Range(0, n).Select(i => title[i * 32] + numeric[i * 16] > 0 ? 1f : 0f).ToArray();
        return (DataArray.Create(title, n, 32), DataArray.Create(numeric, n, 16), DataArray.Create(y, n, 1));
    }

    /// <summary>Features [64]; category = argmax of the first 10 features; score = sum of the first 3.</summary>
    public static (DataArray Features, DataArray Category, DataArray Score) TwoOutputArrays(int n, int seed)
    {
        var rng = new Random(seed);
        var x = Gaussian(rng, n * 64);
        var category = new long[n];
        var score = new float[n];
        for (var i = 0; i < n; i++)
        {
            var row = x.AsSpan(i * 64, 10);
            var best = 0;
            for (var k = 1; k < 10; k++) if (row[k] > row[best]) best = k;
            category[i] = best;
            score[i] = row[0] + row[1] + row[2];
        }
        return (DataArray.Create(x, n, 64), DataArray.Create(category, n), DataArray.Create(score, n, 1));
    }

    public static InMemoryDataset TwoOutputByName(int n, int seed)
    {
        var (x, category, score) = TwoOutputArrays(n, seed);
        return new InMemoryDataset(x, DataArrays.Named(("score", score), ("category", category)));
    }

    private static float[] Gaussian(Random rng, int count) =>
        Enumerable.Range(0, count).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()))).ToArray();
}
