using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Fit;

/// <summary>Metrics with no graph form (precision, recall, AUC, F1, RMSE, top-k) are computed on the host from the
/// prediction outputs the train and eval graphs then carry.</summary>
public sealed class HostMetricsTests
{
    private static readonly DeviceOptions Cpu = new() { Kind = DeviceKind.Cpu, IntraOpThreads = 1 };

    /// <summary>Blob 0 against the other two: a binary problem with float labels.</summary>
    private static InMemoryDataset Binary(int n, int seed)
    {
        var blobs = SyntheticData.Blobs(n, seed);
        var y = blobs.Labels!.ToInt64().Select(c => c == 0 ? 1f : 0f).ToArray();
        return new InMemoryDataset(blobs.Features, DataArray.Create(y, n));
    }

    [Fact]
    public void BinaryClassificationMetricsMatchAPlainCountOverPredictions()
    {
        // Named, so the weights (seeded by layer name) do not depend on which tests created layers before this one.
        var model = new Sequential([new InputLayer(new InputLayerConfig { BatchShape = [null, 4] }), new Dense(8, "relu", name: "hidden"), new Dense(1, "sigmoid", name: "positive")]);
        using var trainer = new Trainer(model, Cpu, seed: 1);
        trainer.Compile(new Adam { LearningRate = 0.02 }, "binary_crossentropy", ["accuracy", "precision", "recall", "auc", "f1_score"]);
        var history = trainer.Fit(Binary(300, 1), new FitOptions { Epochs = 4, BatchSize = 32, ValidationSplit = 0.2, Verbose = 0 });
        foreach (var k in new[] { "precision", "recall", "auc", "f1_score", "val_precision", "val_auc" })
            Assert.True(history.Values.ContainsKey(k), k + " missing from " + string.Join(",", history.Values.Keys));
        Assert.InRange(history["val_auc"][^1], 0.9, 1.0);

        var test = Binary(200, 2);
        var eval = trainer.Evaluate(test, batchSize: 64);
        var p = trainer.Predict(test.Features)[0];
        var y = test.Labels!.ToFloat32();
        double tp = 0, fp = 0, fn = 0;
        for (var i = 0; i < y.Length; i++)
        {
            bool predicted = p[i] > 0.5f, actual = y[i] > 0.5f;
            if (predicted && actual) tp++;
            else if (predicted) fp++;
            else if (actual) fn++;
        }
        Assert.True(tp > 0 && tp + fp < y.Length, $"a trivial classifier ({tp} true, {fp} false positives) would not test the counts");
        Assert.Equal(tp / (tp + fp), eval["precision"], 6);
        Assert.Equal(tp / (tp + fn), eval["recall"], 6);
        Assert.Equal(2 * tp / (2 * tp + fp + fn), eval["f1_score"], 6);
        Assert.InRange(eval["auc"], 0.9, 1.0);
        Assert.True(eval.ContainsKey("accuracy") && eval.ContainsKey("loss"));
    }

    [Fact]
    public void RegressionRmseIsTheRootOfTheGraphsMse()
    {
        var n = 128;
        var rng = new Random(4);
        var x = Enumerable.Range(0, n * 2).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var y = Enumerable.Range(0, n).Select(i => 3 * x[2 * i] - x[2 * i + 1]).ToArray();
        var data = new InMemoryDataset(DataArray.Create(x, n, 2), DataArray.Create(y, n));
        var model = new Sequential([new InputLayer(new InputLayerConfig { BatchShape = [null, 2] }), new Dense(1)]);
        using var trainer = new Trainer(model, Cpu, seed: 1);
        trainer.Compile(new Adam { LearningRate = 0.05 }, "mse", ["mae", "rmse"]);
        var history = trainer.Fit(data, new FitOptions { Epochs = 3, BatchSize = 16, Verbose = 0 });
        Assert.True(history["rmse"][^1] < history["rmse"][0]);
        var eval = trainer.Evaluate(data, batchSize: 128);
        Assert.Equal(Math.Sqrt(eval["loss"]), eval["rmse"], 4);
    }

    [Fact]
    public void TopKAccuracyCountsAClassAmongTheKBest()
    {
        var model = new Sequential([new InputLayer(new InputLayerConfig { BatchShape = [null, 4] }), new Dense(3, "softmax")]);
        using var trainer = new Trainer(model, Cpu, seed: 1);
        trainer.Compile(new Adam(), "sparse_categorical_crossentropy", ["accuracy", "top_k_categorical_accuracy", "top_2_accuracy"]);
        var data = SyntheticData.Blobs(96, 3);
        trainer.Fit(data, new FitOptions { Epochs = 1, Verbose = 0 });
        var eval = trainer.Evaluate(data);
        Assert.Equal(1.0, eval["top_k_categorical_accuracy"]);   // k = 5 ≥ 3 classes
        var p = trainer.Predict(data.Features)[0];
        var labels = data.Labels!.ToInt64();
        var inTop2 = Enumerable.Range(0, data.Count).Count(i => Enumerable.Range(0, 3).Count(c => p[i * 3 + c] > p[i * 3 + labels[i]]) < 2);
        Assert.Equal((double)inTop2 / data.Count, eval["top_2_accuracy"], 6);
        Assert.True(eval["top_2_accuracy"] >= eval["accuracy"]);
    }

    [Fact]
    public void AnUnknownMetricFailsAtCompile()
    {
        using var trainer = new Trainer(new Sequential([new InputLayer(new InputLayerConfig { BatchShape = [null, 4] }), new Dense(3, "softmax")]), Cpu);
        var e = Assert.Throws<ArgumentException>(() => trainer.Compile(new Adam(), "sparse_categorical_crossentropy", ["precission"]));
        Assert.Contains("precission", e.Message);
    }
}
