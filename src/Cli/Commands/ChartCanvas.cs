using ScottPlot;
using ScottPlot.TickGenerators;
using SkiaSharp;

namespace NeuralService.Cli.Commands;

/// <summary>Shared drawing setup of every chart the CLI writes: fonts, tick generators and a grid of ScottPlot plots
/// rendered into one PNG.</summary>
internal static class ChartCanvas
{
    private const string FontFamily = "DejaVu Sans";
    private const string FontDirectory = "/usr/share/fonts/truetype/dejavu";
    private static readonly Lock FontLock = new();
    private static bool _fontsRegistered;

    /// <summary>Registers DejaVu Sans from its files when they exist: the Linux SkiaSharp build has no fontconfig, so a
    /// family looked up by name alone can come back empty and titles would silently not be drawn.</summary>
    public static void RegisterFonts()
    {
        lock (FontLock)
        {
            if (_fontsRegistered) return;
            _fontsRegistered = true;
            var regular = Path.Combine(FontDirectory, "DejaVuSans.ttf");
            var bold = Path.Combine(FontDirectory, "DejaVuSans-Bold.ttf");
            if (!File.Exists(regular)) return;
            Fonts.AddFontFile(FontFamily, regular, bold: false, italic: false);
            Fonts.AddFontFile(FontFamily, File.Exists(bold) ? bold : regular, bold: true, italic: false);
            Fonts.Default = FontFamily;
        }
    }

    /// <summary>A plot with the CLI's fonts and white backgrounds.</summary>
    public static Plot NewPlot()
    {
        RegisterFonts();
        var plot = new Plot();
        plot.Font.Set(Fonts.Default);
        plot.FigureBackground.Color = Colors.White;
        plot.DataBackground.Color = Colors.White;
        return plot;
    }

    /// <summary>Ticks only at whole numbers (epochs, sample indices): never "1.5".</summary>
    public static NumericAutomatic IntegerTicks() => new() { IntegerTicksOnly = true, TargetTickCount = 6, MinorTickGenerator = new NoMinorTicks() };

    /// <summary>Minor ticks between whole-number ticks would mark half epochs that do not exist.</summary>
    private sealed class NoMinorTicks : IMinorTickGenerator
    {
        public IEnumerable<double> GetMinorTicks(double[] majorPositions, CoordinateRange visibleRange) => [];
    }

    /// <summary>Plots side by side, <paramref name="cellWidth"/>×<paramref name="cellHeight"/> each, at most
    /// <paramref name="columns"/> to a row, written as one PNG.</summary>
    public static void SaveGrid(IReadOnlyList<Plot> plots, string path, int cellWidth, int cellHeight, int columns)
    {
        var count = Math.Max(1, plots.Count);
        var across = Math.Min(count, Math.Max(1, columns));
        var rows = (count + across - 1) / across;
        using var surface = SKSurface.Create(new SKImageInfo(cellWidth * across, cellHeight * rows))
            ?? throw new InvalidOperationException($"cannot allocate a {cellWidth * across}×{cellHeight * rows} image");
        surface.Canvas.Clear(SKColors.White);
        for (var i = 0; i < plots.Count; i++)
        {
            var (row, column) = Math.DivRem(i, across);
            var cell = new PixelRect(column * cellWidth, (column + 1) * cellWidth, (row + 1) * cellHeight, row * cellHeight);
            // ScottPlot clears the canvas with its background before drawing: clipped, that clears only this cell.
            surface.Canvas.Save();
            surface.Canvas.ClipRect(new SKRect(cell.Left, cell.Top, cell.Right, cell.Bottom));
            plots[i].Render(surface.Canvas, cell);
            surface.Canvas.Restore();
        }
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null) Directory.CreateDirectory(directory);
        using var file = File.Create(path);
        png.SaveTo(file);
    }
}
