namespace NeuralService.Applications.Tests;

/// <summary>Each application on a few batches of its real data: it runs end to end, its training loss falls and it
/// draws its plot. The full runs and their results are in docs/APPLICATIONS.md.</summary>
public sealed class ApplicationsSmokeTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-apps");
    public void Dispose() => _dir.Delete(recursive: true);

    private AppResult Run(string app) =>
        AppRunner.Apps[app](new AppOptions { Quick = true, OutputDirectory = _dir.FullName, Log = TextWriter.Null });

    private static void AssertLearns(AppResult r)
    {
        Assert.True(r.Loss[^1] < r.Loss[0], $"{r.Name}: loss {string.Join(" → ", r.Loss)}");
        Assert.True(File.Exists(r.Plot) && new FileInfo(r.Plot!).Length > 1000, r.Plot);
        Assert.All(r.Metrics.Values, v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void FashionCnnLearns()
    {
        var r = Run("fashion-cnn");
        AssertLearns(r);
        Assert.InRange(r.Metrics["accuracy"], 0.0, 1.0);
    }

    [Fact]
    public void FortuneLstmLearns()
    {
        var r = Run("text-lstm");
        AssertLearns(r);
        Assert.InRange(r.Baseline["majority_accuracy"], 0.3, 1.0);
    }

    [Fact]
    public void StockLstmLearnsAndReportsBothRmses()
    {
        var r = Run("stock-lstm");
        AssertLearns(r);
        Assert.True(r.Metrics["rmse_dollars"] > 0 && r.Baseline["naive_rmse_dollars"] > 0);
    }

    [Fact]
    public void ResNetTransferHeadLearns()
    {
        var r = Run("resnet-transfer");
        AssertLearns(r);
        Assert.InRange(r.Baseline["raw_pixel_accuracy"], 0.0, 1.0);
    }
}
