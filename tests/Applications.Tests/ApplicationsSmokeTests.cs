namespace NeuralService.Applications.Tests;

/// <summary>Each application on a few batches of its real data: it runs end to end, its training loss falls, it draws
/// its plot, and its test result beats a stated baseline by a margin (measured on these runs, seeds fixed: fashion-cnn
/// 0.39 vs majority 0.14; mnist-cnn, real digits, accuracy > 0.6 (chance 0.1); imdb-lstm, loss falls; text-lstm 0.70 vs majority 0.56; stock-lstm, last 700 days, RMSE below 0.75× the training mean's;
/// resnet-transfer: layer4 fine-tuned in stage 2 only). The full runs and their results are in
/// docs/APPLICATIONS.md.</summary>
public sealed class ApplicationsSmokeTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-apps");
    public void Dispose() => _dir.Delete(recursive: true);

    private AppResult Run(string app, AppOptions? options = null) =>
        AppRunner.Apps[app]((options ?? new AppOptions { Quick = true }) with { OutputDirectory = _dir.FullName, Log = TextWriter.Null });

    private static void AssertBeats(AppResult r, string metric, double baseline, double margin, string baselineName) =>
        Assert.True(r.Metrics[metric] > baseline + margin,
            $"{r.Name}: {metric} {r.Metrics[metric]:F3} does not beat {baselineName} {baseline:F3} by {margin}");

    private static void AssertLearns(AppResult r)
    {
        Assert.True(r.Loss[^1] < r.Loss[0], $"{r.Name}: loss {string.Join(" → ", r.Loss)}");
        Assert.True(File.Exists(r.Plot) && new FileInfo(r.Plot!).Length > 1000, r.Plot);
        AssertDrawn(r.Plot!);
        Assert.All(r.Metrics.Values, v => Assert.True(double.IsFinite(v)));
    }

    /// <summary>The plot decodes as a PNG of at least one 400×300 panel with the training series' line in it; with
    /// NEURAL_PLOT_SAMPLES set it is copied there to be looked at.</summary>
    private static void AssertDrawn(string path)
    {
        if (Environment.GetEnvironmentVariable("NEURAL_PLOT_SAMPLES") is { Length: > 0 } keep)
        {
            Directory.CreateDirectory(keep);
            File.Copy(path, Path.Combine(keep, Path.GetFileName(path)), overwrite: true);
        }
        using var png = SkiaSharp.SKBitmap.Decode(path) ?? throw new Xunit.Sdk.XunitException($"{path} does not decode");
        Assert.True(png.Width >= 400 && png.Height >= 300, $"{path}: {png.Width}×{png.Height}");
        var line = NeuralService.Cli.Commands.HistoryPlot.Train;
        var drawn = 0;
        for (var y = 0; y < png.Height; y++)
        for (var x = 0; x < png.Width; x++)
        {
            var p = png.GetPixel(x, y);
            if (Math.Abs(p.Red - line.R) < 40 && Math.Abs(p.Green - line.G) < 40 && Math.Abs(p.Blue - line.B) < 40) drawn++;
        }
        Assert.True(drawn > 100, $"{path}: {drawn} pixels of the training line");
    }

    [Fact]
    public void FashionCnnLearns()
    {
        var r = Run("fashion-cnn");
        AssertLearns(r);
        AssertBeats(r, "accuracy", r.Baseline["majority_accuracy"], 0.1, "the majority class");
    }

    /// <summary>Real MNIST digits (fails, not skips, when scripts/datasets.sh has not installed them).</summary>
    [Fact]
    public void MnistCnnLearnsRealDigits()
    {
        var r = Run("mnist-cnn", new AppOptions { Quick = true, Samples = 512, Epochs = 3 });
        AssertLearns(r);
        Assert.True(r.Metrics["accuracy"] > 0.6, $"mnist-cnn: accuracy {r.Metrics["accuracy"]:F3} after 3 epochs of 512 digits (chance 0.1)");
        AssertBeats(r, "accuracy", r.Baseline["majority_accuracy"], 0.4, "the majority class");
    }

    /// <summary>The seed's IMDb model exactly, on a tiny run (160 fortunes, 2 epochs: seconds). Too short to beat the
    /// majority class (the full run does, see docs/APPLICATIONS.md); it checks the model, the 500-token flow and that
    /// binary cross-entropy falls.</summary>
    [Fact]
    public void ImdbLstmRunsTheSeedModel()
    {
        var model = ImdbLstm.BuildModel();
        Assert.Equal(10000 * 128 + 4 * 64 * (128 + 64 + 1) + 64 * 64 + 64 + 64 + 1, model.CountParams());
        Assert.Equal(["Embedding", "LSTM", "Dense", "Dropout", "Dense"],
            model.Layers.Select(l => l.GetType().Name).Where(n => n != "InputLayer").ToArray());
        var lstm = model.Layers.OfType<NeuralService.Graph.Layers.LSTM>().Single();
        Assert.Equal((64, 0.2, 0.2), (lstm.Config.Units, lstm.Config.Dropout, lstm.Config.RecurrentDropout));
        Assert.Equal("(None, 500)", model.Inputs[0].Shape.ToKerasString());
        var r = Run("imdb-lstm");
        AssertLearns(r);
        Assert.InRange(r.Metrics["accuracy"], 0, 1);
    }

    [Fact]
    public void FortuneLstmLearns()
    {
        // The quick run's 128 fortunes only teach the majority class; 800 (640 to train) in 3 epochs beat it.
        var r = Run("text-lstm", new AppOptions { Samples = 800, Epochs = 3 });
        AssertLearns(r);
        Assert.InRange(r.Baseline["majority_accuracy"], 0.3, 0.7);
        AssertBeats(r, "accuracy", r.Baseline["majority_accuracy"], 0.05, "the majority class");
    }

    [Fact]
    public void StockLstmRunsTheSeedRecipeOnDailyCloses()
    {
        var model = StockLstm.BuildModel();
        Assert.Equal(["LSTM", "Dropout", "LSTM", "Dense"], model.Layers.Select(l => l.GetType().Name).Where(n => n != "InputLayer").ToArray());
        Assert.Equal("(None, 60, 1)", model.Inputs[0].Shape.ToKerasString());
        var r = Run("stock-lstm");
        AssertLearns(r);
        // The last 700 days: 560 train (500 windows), 140 test windows whose context reaches into the training days.
        Assert.Equal((500.0, 140.0), (r.Metrics["train_windows"], r.Metrics["test_windows"]));
        Assert.True(r.Metrics["rmse"] > 0 && r.Baseline["naive_rmse"] > 0);
        Assert.True(r.Metrics["rmse"] < r.Baseline["train_mean_rmse"] * 0.75,
            $"test RMSE {r.Metrics["rmse"]:F1} against {r.Baseline["train_mean_rmse"]:F1} for the training mean");
    }

    /// <summary>Both stages on 8 images, one step each: stage 1 leaves the imported layer4 as it was, stage 2 changes
    /// it; both curves and the stage marker are drawn.</summary>
    [Fact]
    public void ResNetTransferFineTunesLayer4OnlyInStageTwo()
    {
        var r = Run("resnet-transfer");
        Assert.Equal(2, r.Loss.Count);
        Assert.All(r.Loss, l => Assert.True(double.IsFinite(l)));
        Assert.Equal(0, r.Metrics["layer4_change_stage1"]);
        Assert.True(r.Metrics["layer4_change_stage2"] > 0, "stage 2 did not change layer4");
        Assert.InRange(r.Metrics["stage1_accuracy"], 0, 1);
        Assert.InRange(r.Metrics["accuracy"], 0, 1);
        Assert.InRange(r.Baseline["raw_pixel_accuracy"], 0, 1);
        AssertDrawn(r.Plot!);
    }
}
