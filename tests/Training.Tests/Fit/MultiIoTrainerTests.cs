using NeuralService.Graph.Training;
using NeuralService.Training.Data;
using static NeuralService.Training.Tests.Fit.MultiIoData;

namespace NeuralService.Training.Tests.Fit;

/// <summary>Keras's multi-input and multi-output training on the seed's two-input and two-output models.</summary>
public sealed class MultiIoTrainerTests
{
    private static readonly Dictionary<string, LossSpec> TwoOutputLosses = new() { ["category"] = "sparse_categorical_crossentropy", ["score"] = "mse" };

    private static Trainer TwoOutputTrainer(PerOutput<double>? lossWeights = null, int seed = 1)
    {
        var t = new Trainer(TwoOutput(), Cpu, seed);
        t.Compile(new Adam { LearningRate = 0.005 }, TwoOutputLosses,
            PerOutput.ByName(new Dictionary<string, IReadOnlyList<string>> { ["category"] = ["accuracy"], ["score"] = ["mae", "rmse"] }), lossWeights);
        return t;
    }

    [Fact]
    public void TwoInputModelLearnsWithInputsByOrderOrByName()
    {
        // 768 samples: with 256, held-out accuracy after 6 epochs ranged 0.70–0.83 over initial weights (seeds 0–9).
        var (title, numeric, y) = TwoInputArrays(768, 1);
        var (vTitle, vNumeric, vy) = TwoInputArrays(64, 11);
        // Validation data by name while the training data may come by order.
        var validation = new InMemoryDataset(DataArrays.Named(("numeric_features", vNumeric), ("title_features", vTitle)), vy);
        var options = new FitOptions { Epochs = 6, BatchSize = 32, Verbose = 0, ValidationData = validation };
        History Train(InMemoryDataset data)
        {
            using var t = new Trainer(TwoInput(), Cpu, seed: 5);
            t.Compile(new Adam { LearningRate = 0.01 }, "binary_crossentropy", ["accuracy"]);
            return t.Fit(data, options);
        }
        var byOrder = Train(new InMemoryDataset(DataArrays.Of(title, numeric), DataArrays.Of(y)));
        var byName = Train(new InMemoryDataset(DataArrays.Named(("numeric_features", numeric), ("title_features", title)), DataArrays.Named(("priority", y))));
        Assert.Equal(["accuracy", "loss", "val_accuracy", "val_loss"], byOrder.Values.Keys.Order(StringComparer.Ordinal));
        Assert.True(byOrder["loss"][^1] < byOrder["loss"][0] * 0.6, $"loss {byOrder["loss"][0]} → {byOrder["loss"][^1]}");
        Assert.True(byOrder["accuracy"][^1] > 0.85, $"accuracy {byOrder["accuracy"][^1]}");
        Assert.True(byOrder["val_accuracy"][^1] > 0.8, $"val_accuracy {byOrder["val_accuracy"][^1]}");
        // The same arrays reach the same inputs either way: identical runs.
        Assert.Equal(byOrder["loss"], byName["loss"]);
    }

    [Fact]
    public void TwoOutputModelLogsKerasNamesAndLearnsBothOutputs()
    {
        using var t = TwoOutputTrainer();
        var h = t.Fit(TwoOutputByName(320, 2), new FitOptions { Epochs = 8, BatchSize = 32, ValidationSplit = 0.25, Verbose = 0 });
        string[] train = ["category_accuracy", "category_loss", "loss", "score_loss", "score_mae", "score_rmse"];
        Assert.Equal([.. train, .. train.Select(k => "val_" + k)], h.Values.Keys.Order(StringComparer.Ordinal));
        foreach (var k in new[] { "loss", "category_loss", "score_loss", "val_category_loss", "val_score_loss" })
            Assert.True(h[k][^1] < h[k][0] * (k.StartsWith("val_", StringComparison.Ordinal) ? 0.85 : 0.7), $"{k}: {h[k][0]} → {h[k][^1]}");
        Assert.True(h["val_category_accuracy"][^1] > h["val_category_accuracy"][0] + 0.2, $"val_category_accuracy {string.Join(", ", h["val_category_accuracy"])}");
        // The total is the sum of the outputs' losses (no regularizers); the host-side rmse is the root of score's mse.
        Assert.Equal(h["category_loss"][^1] + h["score_loss"][^1], h["loss"][^1], 4);
        Assert.Equal(Math.Sqrt(h["val_score_loss"][^1]), h["val_score_rmse"][^1], 4);
    }

    [Fact]
    public void LossWeightsScaleEachOutputsShareOfTheTotal()
    {
        var data = TwoOutputByName(64, 3);
        using var plain = TwoOutputTrainer();
        var p = plain.Evaluate(data);
        Assert.Equal(p["category_loss"] + p["score_loss"], p["loss"], 4);
        using var weighted = TwoOutputTrainer(new Dictionary<string, double> { ["category"] = 0.25, ["score"] = 3 });
        var w = weighted.Evaluate(data);
        Assert.Equal(p["category_loss"], w["category_loss"], 5);
        Assert.Equal(p["score_loss"], w["score_loss"], 5);
        Assert.Equal(0.25 * p["category_loss"] + 3 * p["score_loss"], w["loss"], 4);

        // A zero weight takes the output out of the gradient: its head's kernel is left as it was.
        var model = TwoOutput();
        var category = model.GetLayer("category").Weights[0].Data.ToArray();
        var score = model.GetLayer("score").Weights[0].Data.ToArray();
        using var t = new Trainer(model, Cpu, seed: 1);
        t.Compile(new Adam { LearningRate = 0.01 }, ["sparse_categorical_crossentropy", "mse"], lossWeights: [0.0, 1.0]);
        t.Fit(data, new FitOptions { Epochs = 1, BatchSize = 16, Verbose = 0 });
        Assert.Equal(category, model.GetLayer("category").Weights[0].Data);
        Assert.NotEqual(score, model.GetLayer("score").Weights[0].Data);
    }

    [Fact]
    public void EvaluateAndPredictReportEveryOutput()
    {
        var (x, category, score) = TwoOutputArrays(96, 4);
        var data = new InMemoryDataset(x, DataArrays.Of(category, score));
        using var t = TwoOutputTrainer();
        t.Fit(data, new FitOptions { Epochs = 2, BatchSize = 32, Verbose = 0 });
        var eval = t.Evaluate(data, batchSize: 40);
        var predicted = t.Predict(DataArrays.Named(("features", x)), batchSize: 40);
        Assert.Equal(["category", "score"], predicted.Names);
        Assert.Equal([96, 10], predicted["category"].Shape);
        Assert.Equal([96, 1], predicted["score"].Shape);
        var probs = predicted["category"].ToFloat32();
        var labels = category.ToInt64();
        var correct = Enumerable.Range(0, 96).Count(i => Enumerable.Range(0, 10).MaxBy(c => probs[i * 10 + c]) == labels[i]);
        Assert.Equal((double)correct / 96, eval["category_accuracy"], 5);
        var s = predicted["score"].ToFloat32();
        var truth = score.ToFloat32();
        Assert.Equal(Enumerable.Range(0, 96).Average(i => Math.Pow(s[i] - truth[i], 2)), eval["score_loss"], 4);
        Assert.Equal(Enumerable.Range(0, 96).Average(i => Math.Abs(s[i] - truth[i])), eval["score_mae"], 4);
        // The one-input overload gives the same flat outputs.
        Assert.Equal(probs, t.Predict(x)[0]);
    }

    [Fact]
    public void APartialLastBatchTrainsAndEvaluatesLikeFullOnes()
    {
        var (title, numeric, y) = TwoInputArrays(10, 6);
        var data = new InMemoryDataset(DataArrays.Of(title, numeric), DataArrays.Of(y));
        using var t = new Trainer(TwoInput(), Cpu, seed: 2);
        t.Compile(new Adam(), "binary_crossentropy", ["accuracy", "auc"]);
        var h = t.Fit(data, new FitOptions { Epochs = 2, BatchSize = 4, Verbose = 0 });
        Assert.Equal(6, t.Step); // 4 + 4 + 2 per epoch
        Assert.True(double.IsFinite(h["loss"][^1]));
        var inBatchesOf4 = t.Evaluate(data, batchSize: 4);
        var whole = t.Evaluate(data, batchSize: 10);
        Assert.Equal(whole.Keys.Order(), inBatchesOf4.Keys.Order());
        foreach (var (k, v) in whole) Assert.Equal(v, inBatchesOf4[k], 5);
    }

    [Fact]
    public void DataIsCheckedAgainstEachInputAndOutput()
    {
        var (title, numeric, y) = TwoInputArrays(8, 7);
        string FitError(Trainer t, InMemoryDataset d) => Assert.ThrowsAny<ArgumentException>(() => t.Fit(d, new FitOptions { Verbose = 0 })).Message;
        using (var t = new Trainer(TwoInput(), Cpu))
        {
            t.Compile(new Sgd(), "binary_crossentropy");
            Assert.Contains("the model has 2 inputs (title_features, numeric_features) but the data has 1 input array",
                FitError(t, new InMemoryDataset(title, y)));
            Assert.Contains("no data for the model's input 'title_features' (data arrays: titles, numeric_features)",
                FitError(t, new InMemoryDataset(DataArrays.Named(("titles", title), ("numeric_features", numeric)), DataArrays.Of(y))));
            Assert.Contains("samples of input 'numeric_features' are shaped (32) but the model's input 'numeric_features' takes (None, 16)",
                FitError(t, new InMemoryDataset(DataArrays.Of(title, title), DataArrays.Of(y))));
            Assert.Equal(0, t.Step);
        }
        var (x, category, score) = TwoOutputArrays(8, 7);
        using (var t = TwoOutputTrainer())
        {
            Assert.Contains("labels of output 'score' are shaped (2) but the model's output 'score' gives (None, 1)",
                FitError(t, new InMemoryDataset(x, DataArrays.Of(category, DataArray.Create(new float[16], 8, 2)))));
            Assert.Contains("label 12 of sample 0 of output 'category' is not a class index in [0, 10)",
                FitError(t, new InMemoryDataset(x, DataArrays.Named(("category", DataArray.Create(new long[] { 12, 0, 0, 0, 0, 0, 0, 0 }, 8)), ("score", score)))));
            Assert.Contains("data array 'extra' matches no output of the model (outputs: category, score)",
                FitError(t, new InMemoryDataset(x, DataArrays.Named(("category", category), ("score", score), ("extra", score)))));
            Assert.Contains("class_weight needs a model with one output",
                Assert.Throws<ArgumentException>(() => t.Fit(new InMemoryDataset(x, DataArrays.Of(category, score)),
                    new FitOptions { Verbose = 0, ClassWeight = new Dictionary<int, double> { [0] = 2 } })).Message);
        }
    }

    [Fact]
    public void CompileArgumentsNameTheOutputTheyMiss()
    {
        using var t = new Trainer(TwoOutput(), Cpu);
        string Error(Action compile) => Assert.Throws<ArgumentException>(compile).Message;
        Assert.Equal("loss: 'scor' is not an output of the model (outputs: category, score)",
            Error(() => t.Compile(new Adam(), new Dictionary<string, LossSpec> { ["category"] = "mse", ["scor"] = "mse" })));
        Assert.Equal("loss: no value for output 'score' (outputs: category, score)",
            Error(() => t.Compile(new Adam(), new Dictionary<string, LossSpec> { ["category"] = "mse" })));
        Assert.Equal("loss: the model has 2 outputs (category, score) but 3 values were given",
            Error(() => t.Compile(new Adam(), new LossSpec[] { "mse", "mse", "mse" })));
        Assert.Equal("loss_weights: the weight of output 'score' must be finite and non-negative, got -1",
            Error(() => t.Compile(new Adam(), PerOutput.All<LossSpec>("mse"), lossWeights: PerOutput.ByOrder(new[] { 1.0, -1.0 }))));
        Assert.Equal("metrics: unknown metric 'bogus' for output 'score'",
            Error(() => t.Compile(new Adam(), PerOutput.All<LossSpec>("mse"), PerOutput.ByOrder<IReadOnlyList<string>>([["accuracy"], ["bogus"]]))));
    }
}
