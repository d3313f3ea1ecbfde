using System.Globalization;
using System.Text.Json;
using NeuralService.Cli.Commands;

namespace NeuralService.Cli.Tests.Plots;

public sealed class PredictionPlotTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-predict-plot");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void ImageGridShowsEachImageInItsCellWithWrongPredictionsCaptionedInRed()
    {
        // Eight 8×8 grey images: even ones white, odd ones black; sample 3 is predicted wrong.
        const int count = 8, side = 8;
        var pixels = new float[count * side * side];
        for (var i = 0; i < count; i += 2) Array.Fill(pixels, 1f, i * side * side, side * side);
        int[] predicted = [0, 1, 2, 3, 4, 5, 6, 7];
        int[] truth = [0, 1, 2, 5, 4, 5, 6, 7];
        var names = Enumerable.Range(0, 10).Select(k => $"class {k}").ToArray();
        var path = Path.Combine(_dir.FullName, "grid.png");
        PredictionPlot.SaveImageGrid(path, pixels, (side, side, 1, false), predicted, truth, names);

        using var png = Png.Decode(path);
        Assert.Equal(4, PredictionPlot.Columns(count));
        Assert.Equal((2 * PredictionPlot.Margin + 4 * PredictionPlot.CellPixels,
            PredictionPlot.TitlePixels + PredictionPlot.Margin + 2 * (PredictionPlot.CellPixels + PredictionPlot.CaptionPixels)), (png.Width, png.Height));
        for (var i = 0; i < count; i++)
        {
            var (l, t, r, b) = PredictionPlot.ImageCell(i, count);
            var centre = png.GetPixel((l + r) / 2, (t + b) / 2);
            Assert.True(i % 2 == 0 ? centre.Red > 240 : centre.Red < 15, $"image {i}: centre {centre}");
            // The image fills its cell: its corners have its colour too.
            var corner = png.GetPixel(l + 3, b - 3);
            Assert.Equal(centre.Red, corner.Red);
            var (cl, ct, cr, cb) = PredictionPlot.CaptionCell(i, count);
            var red = Png.Reddish(png, cl, ct, cr, cb);
            var green = Png.Count(png, PredictionPlot.Right, cl, ct, cr, cb, 30);
            if (i == 3)
            {
                Assert.True(red > 30, $"wrong sample's caption has {red} red pixels");
                Assert.True(Png.Reddish(png, cl, ct + 18, cr, cb) > 10, "the true class is not on the caption's second line");
            }
            else
            {
                Assert.Equal(0, red);
                Assert.True(green > 8, $"caption {i} has {green} green pixels");
            }
        }
        Assert.True(Png.Inked(png, 0, 0, png.Width, PredictionPlot.TitlePixels) > 200, "no title");
    }

    [Theory]
    [InlineData(new[] { 28, 28, 1 }, 28, 28, 1, false)]
    [InlineData(new[] { 3, 32, 32 }, 32, 32, 3, true)]
    [InlineData(new[] { 32, 32, 3 }, 32, 32, 3, false)]
    [InlineData(new[] { 784 }, 28, 28, 1, false)]
    [InlineData(new[] { 8, 8 }, 8, 8, 1, false)]
    public void ImageShapesAreRecognised(int[] sample, int h, int w, int c, bool first) =>
        Assert.Equal((h, w, c, first), PredictionPlot.ImageShape(sample));

    [Theory]
    [InlineData(new[] { 4 })]
    [InlineData(new[] { 50 })]
    [InlineData(new[] { 10, 2 })]
    public void TabularSamplesAreNotImages(int[] sample) => Assert.Null(PredictionPlot.ImageShape(sample));

    [Fact]
    public void ATabularClassifiersPlotIsItsConfusionMatrix()
    {
        int[] truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2];
        int[] predicted = [0, 0, 0, 1, 1, 1, 1, 2, 2, 0];
        string[] names = ["setosa", "versicolor", "virginica"];
        var plot = PredictionPlot.Classes(predicted, truth, 3, names);
        var path = Path.Combine(_dir.FullName, "confusion.png");
        ChartCanvas.SaveGrid([plot], path, 560, 480, 1);
        using var png = Png.Decode(path);
        Assert.Equal((560, 480), (png.Width, png.Height));
        Assert.Equal(names, plot.Axes.Bottom.TickGenerator.Ticks.Where(t => t.IsMajor).OrderBy(t => t.Position).Select(t => t.Label));
        Assert.Equal(names, plot.Axes.Left.TickGenerator.Ticks.Where(t => t.IsMajor).OrderByDescending(t => t.Position).Select(t => t.Label));
        SkiaSharp.SKColor Cell(int t, int p)
        {
            var at = plot.GetPixel(new ScottPlot.Coordinates(p + 0.35, -t + 0.35)); // off the centre, where the count is written
            return png.GetPixel((int)at.X, (int)at.Y);
        }
        var full = Cell(0, 0); // 3 right: the largest count, the full colour
        Assert.True(Math.Abs(full.Red - HistoryPlot.Train.R) < 20 && Math.Abs(full.Blue - HistoryPlot.Train.B) < 20, $"cell (0,0) {full}");
        var empty = Cell(2, 1);
        Assert.True(empty.Red > 245 && empty.Green > 245 && empty.Blue > 245, $"cell (2,1) {empty}");
        var wrong = Cell(0, 1); // one setosa taken for versicolor: a light red
        Assert.True(wrong.Red > 240 && wrong.Green < 220 && wrong.Blue < 220, $"cell (0,1) {wrong}");

        // Through Save: a classifier whose input is not an image gets this chart rather than an image grid.
        var onehot = new float[10 * 3];
        for (var i = 0; i < 10; i++) onehot[i * 3 + predicted[i]] = 1;
        var saved = Path.Combine(_dir.FullName, "tabular.png");
        PredictionPlot.Save(saved, NeuralService.Training.Data.DataArray.Create(new float[10 * 4], 10, 4), onehot, 10, classifier: true,
            truth.Select(v => (float)v).ToArray(), names);
        using var tabular = Png.Decode(saved);
        Assert.Equal((560, 480), (tabular.Width, tabular.Height));
        Assert.True(Png.Count(tabular, HistoryPlot.Train, 0, 0, 560, 480, 10) > 2000, "no shaded diagonal");
    }

    [Fact]
    public void WithoutLabelsATabularClassifiersPlotCountsEachPredictedClass()
    {
        var plot = PredictionPlot.Classes([0, 2, 2, 2, 1, 2], null, 3, null);
        var path = Path.Combine(_dir.FullName, "counts.png");
        ChartCanvas.SaveGrid([plot], path, 560, 480, 1);
        using var png = Png.Decode(path);
        Assert.Equal(["0", "1", "2"], plot.Axes.Bottom.TickGenerator.Ticks.Where(t => t.IsMajor).OrderBy(t => t.Position).Select(t => t.Label));
        Assert.All(plot.Axes.Left.TickGenerator.Ticks.Where(t => t.IsMajor), t => Png.IsInteger(t.Label));
        int Height(int k)
        {
            var x = (int)plot.GetPixel(new ScottPlot.Coordinates(k, 0)).X;
            return Enumerable.Range(0, png.Height).Count(y => Png.Count(png, HistoryPlot.Train, x, y, x + 1, y + 1, 10) == 1);
        }
        Assert.InRange(Height(2) / (double)Height(0), 3.8, 4.2); // four samples in class 2, one in class 0
    }

    [Fact]
    public void RegressionPlotsActualAgainstPredictedAndBySample()
    {
        var actual = Enumerable.Range(0, 40).Select(i => (float)Math.Sin(i / 5.0) * 3).ToArray();
        var predicted = actual.Select((v, i) => v + (i % 3 - 1) * 0.3f).ToArray();
        var path = Path.Combine(_dir.FullName, "reg.png");
        PredictionPlot.SaveRegression(path, predicted, actual, actual.Length);
        using var png = Png.Decode(path);
        Assert.Equal((960, 400), (png.Width, png.Height));
        Assert.True(Png.Count(png, HistoryPlot.Train, 60, 40, 470, 320) > 200, "no points in the scatter panel");
        Assert.True(Png.Count(png, ScottPlot.Colors.Gray, 60, 40, 470, 320, 40) > 60, "no identity line");
        Assert.True(Png.Count(png, HistoryPlot.Train, 540, 40, 950, 320) > 100, "no predicted line by sample");
        Assert.True(Png.Count(png, ScottPlot.Colors.Black, 540, 40, 950, 320, 30) > 100, "no actual line by sample");
    }

    [Fact]
    public void PredictPlotDrawsFashionMnistTestImagesWithTheirPredictedClasses()
    {
        const string images = """
            {"class_name": "Sequential", "config": {"name": "fm_dense", "layers": [
              {"class_name": "InputLayer", "config": {"batch_shape": [null, 28, 28, 1], "name": "image"}},
              {"class_name": "Flatten", "config": {"name": "flat"}},
              {"class_name": "Dense", "config": {"units": 32, "activation": "relu", "name": "h"}},
              {"class_name": "Dense", "config": {"units": 10, "activation": "softmax", "name": "y"}}]}}
            """;
        var run = Path.Combine(_dir.FullName, "run");
        var (exit, _, err) = CliRunner.Run("train", Write("m.json", images), "--data", "fashion-mnist", "--limit", "1024",
            "--epochs", "2", "--batch-size", "64", "--device", "cpu", "--seed", "1", "--out", run);
        Assert.True(exit == 0, err);
        using (var history = Png.Decode(Path.Combine(run, "history.png")))
            Assert.Equal((480, 360), (history.Width, history.Height));

        var plot = Path.Combine(_dir.FullName, "predictions.png");
        var (pExit, pOut, pErr) = CliRunner.Run("predict", run, "--data", "fashion-mnist:test", "--limit", "12", "--plot", plot);
        Assert.True(pExit == 0, pErr);
        var lines = pOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(12, lines.Length);
        using var png = Png.Decode(plot);
        Assert.Equal(6, PredictionPlot.Columns(12));
        Assert.Equal(2 * PredictionPlot.Margin + 6 * PredictionPlot.CellPixels, png.Width);
        var wrong = 0;
        for (var i = 0; i < 12; i++)
        {
            var (l, t, r, b) = PredictionPlot.ImageCell(i, 12);
            Assert.True(Png.Inked(png, l, t, r, b) > 300, $"image {i} is blank"); // black background around the garment
            Assert.True(Png.Count(png, ScottPlot.Colors.White, l, t, r, b, 60) > 20, $"image {i} has no bright garment");
            var (cl, ct, cr, cb) = PredictionPlot.CaptionCell(i, 12);
            var red = Png.Reddish(png, cl, ct, cr, cb);
            var green = Png.Count(png, PredictionPlot.Right, cl, ct, cr, cb, 30);
            Assert.True(red > 8 ^ green > 8, $"caption {i}: {red} red and {green} green pixels");
            if (red > 8) wrong++;
        }
        Assert.True(wrong < 8, $"{wrong} of 12 drawn as wrong after training");
    }

    [Fact]
    public void PredictPlotDrawsARegressorsActualAgainstPredicted()
    {
        const string regression = """
            {"class_name": "Sequential", "config": {"name": "reg", "layers": [
              {"class_name": "InputLayer", "config": {"batch_shape": [null, 2], "name": "x"}},
              {"class_name": "Dense", "config": {"units": 1, "name": "y"}}]}}
            """;
        var lines = new List<string> { "a,b,target" };
        var rng = new Random(5);
        for (var i = 0; i < 128; i++)
        {
            double a = rng.NextDouble() * 2 - 1, b = rng.NextDouble() * 2 - 1;
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{a},{b},{2 * a - b + 0.5}"));
        }
        var csv = Write("linear.csv", string.Join("\n", lines));
        var run = Path.Combine(_dir.FullName, "reg");
        var (exit, _, err) = CliRunner.Run("train", Write("r.json", regression), "--data", csv, "--epochs", "3", "--batch-size", "16",
            "--device", "cpu", "--out", run);
        Assert.True(exit == 0, err);
        var plot = Path.Combine(_dir.FullName, "reg.png");
        var (pExit, pOut, pErr) = CliRunner.Run("predict", run, "--data", csv, "--limit", "30", "--plot", plot);
        Assert.True(pExit == 0, pErr);
        Assert.Equal(30, pOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(JsonDocument.Parse(pOut.Split('\n')[0]).RootElement.TryGetProperty("value", out _));
        using var png = Png.Decode(plot);
        Assert.Equal((960, 400), (png.Width, png.Height)); // actual vs predicted, then by sample
        Assert.True(Png.Count(png, HistoryPlot.Train, 60, 40, 470, 320) > 100, "no points in the scatter panel");
        Assert.True(Png.Count(png, ScottPlot.Colors.Black, 540, 40, 950, 320, 30) > 50, "no actual line by sample");
    }
}
