using System.Globalization;
using NeuralService.Cli.Commands;
using NeuralService.Training;

namespace NeuralService.Cli.Tests.Plots;

public sealed class HistoryPlotTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-plot");

    public void Dispose() => _dir.Delete(recursive: true);

    private static History Fit(int epochs)
    {
        var history = new History();
        for (var e = 0; e < epochs; e++)
            history.Add(e, new Dictionary<string, double>
            {
                ["loss"] = 2.3 / (1 + e), ["val_loss"] = 2.5 / (1 + 0.8 * e),
                ["accuracy"] = 0.3 + 0.6 * e / Math.Max(1, epochs), ["val_accuracy"] = 0.25 + 0.55 * e / Math.Max(1, epochs),
            });
        return history;
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(53)]
    public void EpochTicksAreWholeNumbersAndYTicksAreShort(int epochs)
    {
        var plots = HistoryPlot.Panels(Fit(epochs), "m").Select(HistoryPlot.Build).ToList();
        ChartCanvas.SaveGrid(plots, Path.Combine(_dir.FullName, "h.png"), 480, 360, 3);
        foreach (var plot in plots)
        {
            var x = plot.Axes.Bottom.TickGenerator.Ticks.Where(t => t.IsMajor).ToList();
            Assert.NotEmpty(x);
            Assert.All(x, t => Png.IsInteger(t.Label));
            Assert.All(x, t => Assert.InRange(t.Position, 0, epochs + 1));
            var y = plot.Axes.Left.TickGenerator.Ticks.Where(t => t.IsMajor).Select(t => t.Label).ToList();
            Assert.InRange(y.Count, 3, 12);
            Assert.All(y, l => Assert.True(l.Length <= 5 && double.TryParse(l, CultureInfo.InvariantCulture, out _), $"y tick '{l}'"));
        }
    }

    [Fact]
    public void DateXGetsCalendarTicksNotNumbersWithThousandsSeparators()
    {
        var days = Enumerable.Range(0, 1000).Select(i => new DateTime(2016, 4, 1).AddDays(i * 1.5)).ToArray();
        var panel = new HistoryPlot.Panel("closes", "date", [new("close", days.Select(d => d.ToOADate()).ToArray(),
            days.Select((_, i) => 2000.0 + i).ToArray(), HistoryPlot.Train, false)]) { DateX = true };
        var plot = HistoryPlot.Build(panel);
        ChartCanvas.SaveGrid([plot], Path.Combine(_dir.FullName, "dates.png"), 720, 420, 1);
        var x = plot.Axes.Bottom.TickGenerator.Ticks.Where(t => t.IsMajor).Select(t => t.Label).ToList();
        Assert.Contains("2017", x);
        Assert.All(x, l => Assert.DoesNotContain(",", l));
        Assert.Equal("date", plot.Axes.Bottom.Label.Text);
    }

    [Fact]
    public void HistoryPngHasOnePanelPerQuantityWithCurvesInsideAndTheLegendOutsideTheData()
    {
        var path = Path.Combine(_dir.FullName, "history-train-val.png");
        HistoryPlot.Save(Fit(10), path, "fm_dense");
        using var png = Png.Decode(path);
        Assert.Equal((2 * 480, 360), (png.Width, png.Height)); // accuracy and loss, side by side

        // The plots as drawn: each panel's data area, then the legend's swatches below it.
        var plots = HistoryPlot.Panels(Fit(10), "fm_dense").Select(HistoryPlot.Build).ToList();
        ChartCanvas.SaveGrid(plots, Path.Combine(_dir.FullName, "again.png"), 480, 360, 3);
        for (var i = 0; i < plots.Count; i++)
        {
            var data = plots[i].LastRender.DataRect;
            Assert.InRange(data.Left, i * 480 + 30, i * 480 + 120);
            Assert.InRange(data.Width, 250, 460);
            int l = (int)data.Left + 2, t = (int)data.Top + 2, r = (int)data.Right - 2, b = (int)data.Bottom - 2;
            Assert.True(Png.Count(png, HistoryPlot.Train, l, t, r, b) > 100, $"panel {i}: no training curve in the data area");
            Assert.True(Png.Count(png, HistoryPlot.Validation, l, t, r, b) > 50, $"panel {i}: no validation curve in the data area");
            // Legend swatches sit under the x axis label, inside the panel: the whole band below the data area.
            Assert.True(Png.Count(png, HistoryPlot.Validation, i * 480, (int)data.Bottom + 25, (i + 1) * 480, 360) > 10, $"panel {i}: no legend below the data");
            Assert.True(Png.Inked(png, i * 480, 0, (i + 1) * 480, (int)data.Top - 2) > 100, $"panel {i}: no title");
        }
    }

    [Fact]
    public void NonFiniteEpochsAreLeftOutAndAOneEpochRunStillDraws()
    {
        var history = new History();
        history.Add(0, new Dictionary<string, double> { ["loss"] = double.NaN });
        history.Add(1, new Dictionary<string, double> { ["loss"] = 1.5 });
        var path = Path.Combine(_dir.FullName, "nan.png");
        HistoryPlot.Save(history, path, "m");
        using var png = Png.Decode(path);
        Assert.Equal((480, 360), (png.Width, png.Height));
        Assert.True(Png.Count(png, HistoryPlot.Train, 0, 0, 480, 360) > 10, "the one finite epoch is not drawn");
    }
}
