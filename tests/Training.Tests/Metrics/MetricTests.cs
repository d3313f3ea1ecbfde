using NeuralService.Training.Metrics;

namespace NeuralService.Training.Tests.Metrics;

public sealed class MetricTests
{
    private static double Evaluate(Metric m, params MetricBatch[] batches)
    {
        m.Reset();
        foreach (var b in batches) m.Update(b);
        return m.Result();
    }

    [Fact]
    public void SparseAndOneHotAccuracyAgree()
    {
        float[] preds = [0.1f, 0.7f, 0.2f, 0.8f, 0.1f, 0.1f, 0.3f, 0.3f, 0.4f];
        var sparse = new MetricBatch([1, 0, 0], preds, 3, 3, null);
        var oneHot = new MetricBatch([0, 1, 0, 1, 0, 0, 1, 0, 0], preds, 3, 3, null);
        Assert.Equal(2.0 / 3, Evaluate(new CategoricalAccuracy(), sparse), 10);
        Assert.Equal(2.0 / 3, Evaluate(new CategoricalAccuracy(), oneHot), 10);
        Assert.Equal(1.0, Evaluate(new TopKAccuracy(2), sparse), 10);
    }

    [Fact]
    public void AccuracyAccumulatesAcrossBatchesWeightedBySamples()
    {
        var a = new MetricBatch([0], [0.9f, 0.1f], 1, 2, null);
        var b = new MetricBatch([1, 1, 1], [0.9f, 0.1f, 0.9f, 0.1f, 0.9f, 0.1f], 3, 2, null);
        Assert.Equal(0.25, Evaluate(new CategoricalAccuracy(), a, b), 10);
    }

    [Fact]
    public void BinaryMetricsOnAKnownConfusion()
    {
        // targets 1,1,0,0,1 ; predictions > 0.5 → 1,0,1,0,1 : TP=2 FP=1 FN=1 TN=1
        var batch = new MetricBatch([1, 1, 0, 0, 1], [0.9f, 0.2f, 0.6f, 0.1f, 0.7f], 5, 1, null);
        Assert.Equal(3.0 / 5, Evaluate(new BinaryAccuracy(), batch), 10);
        Assert.Equal(2.0 / 3, Evaluate(new Precision(), batch), 10);
        Assert.Equal(2.0 / 3, Evaluate(new Recall(), batch), 10);
        Assert.Equal(2.0 / 3, Evaluate(new F1Score(), batch), 10);
    }

    [Fact]
    public void AucMatchesThePairwiseDefinition()
    {
        var rng = new Random(3);
        var n = 400;
        var targets = Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.4 ? 1f : 0f).ToArray();
        var preds = targets.Select(t => (float)Math.Clamp(0.35 * t + rng.NextDouble() * 0.65, 0, 1)).ToArray();
        double pairs = 0, wins = 0;
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
                if (targets[i] == 1 && targets[j] == 0)
                {
                    pairs++;
                    wins += preds[i] > preds[j] ? 1 : preds[i] == preds[j] ? 0.5 : 0;
                }
        var auc = Evaluate(new Auc(), new MetricBatch(targets, preds, n, 1, null));
        Assert.Equal(wins / pairs, auc, 2);
    }

    [Fact]
    public void RegressionMetrics()
    {
        var batch = new MetricBatch([1, 2, 3, 4], [1.5f, 2, 2, 6], 4, 1, null);
        Assert.Equal((0.5 + 0 + 1 + 2) / 4, Evaluate(new MeanAbsoluteError(), batch), 10);
        Assert.Equal((0.25 + 0 + 1 + 4) / 4, Evaluate(new MeanSquaredError(), batch), 10);
        Assert.Equal(Math.Sqrt(5.25 / 4), Evaluate(new RootMeanSquaredError(), batch), 10);
    }

    [Fact]
    public void SampleWeightsWeighRows()
    {
        var batch = new MetricBatch([0, 1], [0.9f, 0.1f, 0.9f, 0.1f], 2, 2, [3, 1]);
        Assert.Equal(0.75, Evaluate(new CategoricalAccuracy(), batch), 10);
    }

    [Theory]
    [InlineData("accuracy", "sparse_categorical_crossentropy", typeof(CategoricalAccuracy))]
    [InlineData("accuracy", "binary_crossentropy", typeof(BinaryAccuracy))]
    [InlineData("top_3_accuracy", "categorical_crossentropy", typeof(TopKAccuracy))]
    [InlineData("rmse", "mse", typeof(RootMeanSquaredError))]
    public void NamesResolveLikeKeras(string name, string loss, Type expected) =>
        Assert.IsType(expected, MetricFactory.Create(name, loss));

    [Fact]
    public void UnknownMetricNamesTheMetric() =>
        Assert.Contains("'accurasy'", Assert.Throws<ArgumentException>(() => MetricFactory.Create("accurasy", "mse")).Message);
}
