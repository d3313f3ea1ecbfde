using NeuralService.Training;
using ScottPlot;

namespace NeuralService.Cli.Commands;

/// <summary>Line charts drawn with ScottPlot (no display needed): one panel per quantity, train solid and validation
/// dashed, x = epoch with whole-number ticks, the legend below the data area so it never hides a curve.</summary>
public static class HistoryPlot
{
    public static readonly Color Train = Colors.SteelBlue;
    public static readonly Color Validation = Colors.DarkOrange;

    /// <summary>One panel per metric of <paramref name="history"/> (the total loss first, then each output's loss, then
    /// the metrics), with its <c>val_</c> series.</summary>
    public static void Save(History history, string path, string title) => Save(Panels(history, title), path);

    /// <summary>The panels <see cref="Save(History, string, string)"/> draws.</summary>
    public static IReadOnlyList<Panel> Panels(History history, string title)
    {
        var names = history.Values.Keys.Where(k => !k.StartsWith("val_", StringComparison.Ordinal))
            .OrderBy(k => k == "loss" ? 0 : k.EndsWith("_loss", StringComparison.Ordinal) ? 1 : 2).ThenBy(k => k, StringComparer.Ordinal).ToList();
        var x = history.Epochs.Select(e => (double)e + 1).ToArray();
        return names.Select(n =>
        {
            var series = new List<Series> { new(n, x, history[n].ToArray(), Train, false) };
            if (history.Values.TryGetValue("val_" + n, out var v)) series.Add(new("val_" + n, x, v.ToArray(), Validation, true));
            return new Panel($"{title}: {n}", "epoch", series) { YLabel = n };
        }).ToList();
    }

    public sealed record Series(string Name, double[] X, double[] Y, Color Color, bool Dashed);

    /// <summary>One chart. <see cref="IntegerX"/>: x is a count (epoch, month, sample) and gets whole-number ticks.</summary>
    public sealed record Panel(string Title, string XLabel, IReadOnlyList<Series> Series)
    {
        public string? YLabel { get; init; }
        public bool IntegerX { get; init; } = true;

        /// <summary>x holds dates as OLE Automation days (<see cref="DateTime.ToOADate"/>) and gets calendar ticks.</summary>
        public bool DateX { get; init; }

        /// <summary>Dotted vertical lines at these x positions, each named in the legend (e.g. where a second
        /// training stage starts).</summary>
        public IReadOnlyList<Marker> Markers { get; init; } = [];
    }

    public sealed record Marker(double X, string Name);

    /// <summary>Panels side by side, <paramref name="panelWidth"/>×<paramref name="panelHeight"/> each, at most
    /// <paramref name="columns"/> to a row (a multi-output model's history has many), written as PNG.</summary>
    public static void Save(IReadOnlyList<Panel> panels, string path, int panelWidth = 480, int panelHeight = 360, int columns = 3) =>
        ChartCanvas.SaveGrid(panels.Select(Build).ToList(), path, panelWidth, panelHeight, columns);

    /// <summary>The ScottPlot plot of one panel (non-finite values are left out of its lines).</summary>
    public static Plot Build(Panel panel)
    {
        var plot = ChartCanvas.NewPlot();
        plot.Title(panel.Title, size: 14);
        plot.XLabel(panel.XLabel, size: 13);
        if (panel.YLabel is { } y) plot.YLabel(y, size: 13);
        var xs = new List<double>();
        foreach (var s in panel.Series)
        {
            var finite = Enumerable.Range(0, Math.Min(s.X.Length, s.Y.Length)).Where(i => double.IsFinite(s.X[i]) && double.IsFinite(s.Y[i])).ToArray();
            if (finite.Length == 0) continue;
            var line = plot.Add.Scatter(finite.Select(i => s.X[i]).ToArray(), finite.Select(i => s.Y[i]).ToArray(), s.Color);
            line.LegendText = s.Name;
            line.LineWidth = 2;
            line.LinePattern = s.Dashed ? LinePattern.Dashed : LinePattern.Solid;
            // Markers show single epochs on short runs; on long ones they would only clutter the line.
            line.MarkerSize = finite.Length <= 30 ? 5 : 0;
            xs.AddRange(finite.Select(i => s.X[i]));
        }
        foreach (var m in panel.Markers)
        {
            var v = plot.Add.VerticalLine(m.X, 1.5f, Colors.Gray, LinePattern.Dotted);
            v.LegendText = m.Name;
        }
        if (panel.DateX)
        {
            // The date axis replaces the bottom axis, label included.
            plot.Axes.DateTimeTicksBottom();
            plot.XLabel(panel.XLabel, size: 13);
        }
        else if (panel.IntegerX)
        {
            plot.Axes.Bottom.TickGenerator = ChartCanvas.IntegerTicks();
            // A one-epoch run would otherwise get a zero-width axis that ScottPlot widens to fractions of an epoch.
            if (xs.Count > 0 && xs.Max() - xs.Min() < 2)
            {
                plot.Axes.AutoScale();
                plot.Axes.SetLimitsX(xs.Min() - 0.5, xs.Max() + 0.5);
            }
        }
        // Below the data area, never over a curve; a lone series is named by the title and needs none.
        if (panel.Series.Count + panel.Markers.Count > 1)
        {
            plot.ShowLegend(Edge.Bottom);
            plot.Legend.Orientation = Orientation.Horizontal;
        }
        else plot.HideLegend();
        return plot;
    }
}
