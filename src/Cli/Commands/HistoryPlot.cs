using System.Globalization;
using NeuralService.Training;
using SkiaSharp;

namespace NeuralService.Cli.Commands;

/// <summary>Line charts drawn with SkiaSharp (no display needed): one panel per quantity, train solid and
/// validation dashed, x = epoch.</summary>
public static class HistoryPlot
{
    private const string FontFile = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";

    /// <summary>One panel per metric of <paramref name="history"/> (the total loss first, then each output's loss, then
    /// the metrics), with its <c>val_</c> series.</summary>
    public static void Save(History history, string path, string title)
    {
        var names = history.Values.Keys.Where(k => !k.StartsWith("val_", StringComparison.Ordinal))
            .OrderBy(k => k == "loss" ? 0 : k.EndsWith("_loss", StringComparison.Ordinal) ? 1 : 2).ThenBy(k => k, StringComparer.Ordinal).ToList();
        var x = history.Epochs.Select(e => (double)e + 1).ToArray();
        var panels = names.Select(n =>
        {
            var series = new List<Series> { new(n, x, history[n].ToArray(), SKColors.SteelBlue, false) };
            if (history.Values.TryGetValue("val_" + n, out var v)) series.Add(new("val_" + n, x, v.ToArray(), SKColors.DarkOrange, true));
            return new Panel($"{title}: {n}", "epoch", series);
        }).ToList();
        Save(panels, path);
    }

    public sealed record Series(string Name, double[] X, double[] Y, SKColor Color, bool Dashed);

    public sealed record Panel(string Title, string XLabel, IReadOnlyList<Series> Series);

    /// <summary>Panels side by side, 400×300 each, at most <paramref name="columns"/> to a row (a multi-output model's
    /// history has many), written as PNG.</summary>
    public static void Save(IReadOnlyList<Panel> panels, string path, int panelWidth = 400, int panelHeight = 300, int columns = 4)
    {
        var count = Math.Max(1, panels.Count);
        var across = Math.Min(count, columns);
        var rows = (count + across - 1) / across;
        using var surface = SKSurface.Create(new SKImageInfo(panelWidth * across, panelHeight * rows));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var typeface = File.Exists(FontFile) ? SKTypeface.FromFile(FontFile) : SKTypeface.Default;
        using var font = new SKFont(typeface, 12);
        for (var i = 0; i < panels.Count; i++)
        {
            var (row, column) = Math.DivRem(i, across);
            Draw(canvas, font, panels[i], new SKRect(column * panelWidth, row * panelHeight, (column + 1) * panelWidth, (row + 1) * panelHeight));
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 90);
        using var file = File.Create(path);
        png.SaveTo(file);
    }

    private static void Draw(SKCanvas canvas, SKFont font, Panel panel, SKRect box)
    {
        var plot = new SKRect(box.Left + 55, box.Top + 28, box.Right - 15, box.Bottom - 40);
        using var text = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        using var axis = new SKPaint { Color = SKColors.Gray, StrokeWidth = 1, Style = SKPaintStyle.Stroke };
        canvas.DrawText(panel.Title, box.Left + 10, box.Top + 18, SKTextAlign.Left, font, text);
        canvas.DrawRect(plot, axis);
        var points = panel.Series.SelectMany(s => s.X.Zip(s.Y)).Where(p => double.IsFinite(p.Second)).ToList();
        if (points.Count == 0) return;
        double x0 = points.Min(p => p.First), x1 = points.Max(p => p.First), y0 = points.Min(p => p.Second), y1 = points.Max(p => p.Second);
        if (x1 == x0) { x0 -= 0.5; x1 += 0.5; }
        if (y1 == y0) { y0 -= 0.5; y1 += 0.5; }
        var pad = (y1 - y0) * 0.05;
        y0 -= pad;
        y1 += pad;
        float Px(double v) => plot.Left + (float)((v - x0) / (x1 - x0)) * plot.Width;
        float Py(double v) => plot.Bottom - (float)((v - y0) / (y1 - y0)) * plot.Height;
        for (var t = 0; t <= 4; t++)
        {
            var yv = y0 + (y1 - y0) * t / 4;
            canvas.DrawText(yv.ToString("G3", CultureInfo.InvariantCulture), box.Left + 4, Py(yv) + 4, SKTextAlign.Left, font, text);
            var xv = x0 + (x1 - x0) * t / 4;
            canvas.DrawText(xv.ToString("G4", CultureInfo.InvariantCulture), Px(xv) - 8, plot.Bottom + 15, SKTextAlign.Left, font, text);
        }
        canvas.DrawText(panel.XLabel, plot.MidX - 15, box.Bottom - 8, SKTextAlign.Left, font, text);
        var legendY = plot.Top + 14;
        var legendX = plot.Right - 40 - panel.Series.Max(s => font.MeasureText(s.Name));
        foreach (var s in panel.Series)
        {
            using var pen = new SKPaint { Color = s.Color, StrokeWidth = 2, Style = SKPaintStyle.Stroke, IsAntialias = true };
            if (s.Dashed) pen.PathEffect = SKPathEffect.CreateDash([6, 4], 0);
            var last = -1;
            for (var i = 0; i < s.X.Length; i++)
            {
                if (!double.IsFinite(s.Y[i])) continue;
                if (last >= 0) canvas.DrawLine(Px(s.X[last]), Py(s.Y[last]), Px(s.X[i]), Py(s.Y[i]), pen);
                last = i;
            }
            if (s.X.Length == 1 && double.IsFinite(s.Y[0])) canvas.DrawCircle(Px(s.X[0]), Py(s.Y[0]), 3, pen);
            canvas.DrawLine(legendX, legendY - 4, legendX + 25, legendY - 4, pen);
            canvas.DrawText(s.Name, legendX + 30, legendY, SKTextAlign.Left, font, text);
            legendY += 15;
        }
    }
}
