using System.Globalization;
using NeuralService.Training.Data;
using ScottPlot;
using SkiaSharp;

namespace NeuralService.Cli.Commands;

/// <summary>The picture of <c>neural predict --plot</c>: an image classifier's test images in a grid, each captioned with
/// its predicted class (and the true one in red when the prediction is wrong); another classifier's confusion matrix;
/// a regressor's actual against predicted values with the identity line, and both by sample.</summary>
public static class PredictionPlot
{
    public static readonly Color Right = Colors.DarkGreen;
    public static readonly Color Wrong = Colors.Red;

    /// <summary>Pixels of one grid cell's image side; captions take <see cref="CaptionPixels"/> below it.</summary>
    public const int CellPixels = 120;
    public const int CaptionPixels = 40;
    public const int TitlePixels = 40;
    public const int Margin = 8;
    private const double Inset = 0.06; // the blank border around each image, in cells

    /// <summary>Draws the first model input's samples and the first output's predictions of <paramref name="count"/>
    /// samples: a grid of images for a classifier whose input is an image, actual vs predicted for a regressor.
    /// <paramref name="labels"/> (sparse class indices, one-hot rows, or target values) adds the truth.</summary>
    public static void Save(string path, DataArray inputs, float[] predictions, int count, bool classifier, float[]? labels,
        IReadOnlyList<string>? classNames)
    {
        if (count <= 0) throw new InvalidDataException("--plot needs at least one sample to draw");
        var width = predictions.Length / count;
        if (!classifier)
        {
            SaveRegression(path, predictions, labels is { } l && l.Length == predictions.Length ? l : null, count);
            return;
        }
        var predicted = Enumerable.Range(0, count).Select(r => width > 1 ? ArgMax(predictions, r * width, width) : predictions[r] >= 0.5f ? 1 : 0).ToArray();
        int[]? truth = labels switch
        {
            null => null,
            _ when labels.Length == count => labels.Select(v => (int)MathF.Round(v)).ToArray(),
            _ when width > 1 && labels.Length == count * width => Enumerable.Range(0, count).Select(r => ArgMax(labels, r * width, width)).ToArray(),
            _ => null,
        };
        if (ImageShape(inputs.SampleShape) is { } shape) SaveImageGrid(path, inputs.Slice(0, count).ToFloat32(), shape, predicted, truth, classNames);
        else ChartCanvas.SaveGrid([Classes(predicted, truth, Math.Max(2, width), classNames)], path, 560, 480, 1);
    }

    /// <summary>A classifier whose input is not an image: the confusion matrix (true class down, predicted across,
    /// counts in the cells) when the labels are known, else how many samples went to each class.</summary>
    public static Plot Classes(IReadOnlyList<int> predicted, IReadOnlyList<int>? truth, int classes, IReadOnlyList<string>? classNames)
    {
        var plot = ChartCanvas.NewPlot();
        var names = Enumerable.Range(0, classes).Select(k => Name(k, classNames)).ToArray();
        var positions = Enumerable.Range(0, classes).Select(k => (double)k).ToArray();
        // Names that would run into each other under the columns become class numbers there (the rows keep the names).
        var fits = names.Max(n => n.Length) * 8.0 < 440.0 / classes;
        var across = fits ? names : Enumerable.Range(0, classes).Select(k => k.ToString(CultureInfo.InvariantCulture)).ToArray();
        if (!fits) names = names.Select((n, k) => n == across[k] ? n : $"{n} ({k})").ToArray();
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions, across);
        plot.XLabel("predicted class", size: 13);
        plot.HideGrid();
        if (truth is null)
        {
            var counts = new int[classes];
            foreach (var p in predicted) if (p >= 0 && p < classes) counts[p]++;
            plot.Title($"predicted classes of {predicted.Count} samples", size: 14);
            plot.YLabel("samples", size: 13);
            for (var k = 0; k < classes; k++)
            {
                var bar = plot.Add.Rectangle(k - 0.4, k + 0.4, 0, counts[k]);
                bar.FillStyle.Color = HistoryPlot.Train;
                bar.LineStyle.Width = 0;
            }
            plot.Axes.Left.TickGenerator = ChartCanvas.IntegerTicks();
            plot.Axes.SetLimits(-0.6, classes - 0.4, 0, Math.Max(1, counts.Max()) * 1.08);
            return plot;
        }
        var matrix = new int[classes, classes];
        var right = 0;
        for (var i = 0; i < predicted.Count; i++)
        {
            if (truth[i] < 0 || truth[i] >= classes || predicted[i] < 0 || predicted[i] >= classes) continue;
            matrix[truth[i], predicted[i]]++;
            if (truth[i] == predicted[i]) right++;
        }
        var max = Math.Max(1, matrix.Cast<int>().Max());
        plot.Title($"confusion matrix: {right} of {predicted.Count} predicted right", size: 14);
        plot.YLabel("true class", size: 13);
        // True class 0 at the top, as confusion matrices are read.
        plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(positions.Select(v => -v).ToArray(), names);
        for (var t = 0; t < classes; t++)
        for (var p = 0; p < classes; p++)
        {
            var share = matrix[t, p] / (double)max;
            var cell = plot.Add.Rectangle(p - 0.5, p + 0.5, -t - 0.5, -t + 0.5);
            cell.FillStyle.Color = Colors.White.MixedWith(t == p ? HistoryPlot.Train : Wrong, share);
            cell.LineStyle.Color = Colors.LightGray;
            cell.LineStyle.Width = 1;
            if (matrix[t, p] == 0) continue;
            var count = plot.Add.Text(matrix[t, p].ToString(CultureInfo.InvariantCulture), p, -t);
            count.Alignment = Alignment.MiddleCenter;
            count.LabelFontSize = 13;
            count.LabelFontColor = share > 0.5 ? Colors.White : Colors.Black;
        }
        plot.Axes.SetLimits(-0.5, classes - 0.5, -classes + 0.5, 0.5);
        return plot;
    }

    /// <summary>Height, width and channels of an image sample (channels last or first, or a flat square of at least
    /// 8×8 grey pixels), or null when the sample is not an image.</summary>
    public static (int Height, int Width, int Channels, bool ChannelsFirst)? ImageShape(IReadOnlyList<int> sample) => sample.Count switch
    {
        3 when sample[2] is 1 or 3 or 4 && sample[0] >= 4 && sample[1] >= 4 => (sample[0], sample[1], sample[2], false),
        3 when sample[0] is 1 or 3 && sample[1] >= 4 && sample[2] >= 4 => (sample[1], sample[2], sample[0], true),
        2 when sample[0] >= 4 && sample[1] >= 4 => (sample[0], sample[1], 1, false),
        1 when sample[0] >= 64 && (int)Math.Sqrt(sample[0]) is var side && side * side == sample[0] => (side, side, 1, false),
        _ => null,
    };

    /// <summary>Columns of a grid of <paramref name="count"/> images: rows of at most six, as even as possible.</summary>
    public static int Columns(int count)
    {
        var rows = (count + 5) / 6;
        return (count + rows - 1) / rows;
    }

    /// <summary>Where the image of sample <paramref name="index"/> lands in the PNG (left, top, right, bottom).</summary>
    public static (int Left, int Top, int Right, int Bottom) ImageCell(int index, int count)
    {
        var (row, column) = Math.DivRem(index, Columns(count));
        var left = Margin + column * CellPixels;
        var top = TitlePixels + row * (CellPixels + CaptionPixels);
        var inset = (int)Math.Ceiling(Inset * CellPixels);
        return (left + inset, top + inset, left + CellPixels - inset, top + CellPixels - inset);
    }

    /// <summary>Where the caption of sample <paramref name="index"/> lands in the PNG.</summary>
    public static (int Left, int Top, int Right, int Bottom) CaptionCell(int index, int count)
    {
        var (row, column) = Math.DivRem(index, Columns(count));
        var left = Margin + column * CellPixels;
        var top = TitlePixels + row * (CellPixels + CaptionPixels) + CellPixels;
        return (left, top, left + CellPixels, top + CaptionPixels);
    }

    /// <summary>The grid: grey levels (or colours) stretched from the batch's minimum to its maximum, so scaled and
    /// raw pixels look the same.</summary>
    public static void SaveImageGrid(string path, float[] pixels, (int Height, int Width, int Channels, bool ChannelsFirst) shape,
        IReadOnlyList<int> predicted, IReadOnlyList<int>? truth, IReadOnlyList<string>? classNames)
    {
        var count = predicted.Count;
        var columns = Columns(count);
        var rows = (count + columns - 1) / columns;
        var plot = ChartCanvas.NewPlot();
        plot.HideAxesAndGrid();
        plot.Layout.Fixed(new PixelPadding(Margin, Margin, Margin, TitlePixels));
        var correct = truth is null ? 0 : Enumerable.Range(0, count).Count(i => truth[i] == predicted[i]);
        plot.Title(truth is null ? $"predicted classes of {count} samples" : $"{correct} of {count} predicted right (wrong in red: predicted / true)", size: 14);
        var (lo, hi) = pixels.Length == 0 ? (0f, 1f) : (pixels.Where(float.IsFinite).DefaultIfEmpty(0f).Min(), pixels.Where(float.IsFinite).DefaultIfEmpty(1f).Max());
        var cellHeight = (CellPixels + CaptionPixels) / (double)CellPixels; // one unit = one cell's width
        var size = shape.Height * shape.Width * shape.Channels;
        for (var i = 0; i < count; i++)
        {
            var (row, column) = Math.DivRem(i, columns);
            using var bitmap = ToBitmap(pixels.AsSpan(i * size, size), shape, lo, hi);
            var top = -row * cellHeight;
            var image = plot.Add.ImageRect(new ScottPlot.Image(bitmap),
                new CoordinateRect(column + Inset, column + 1 - Inset, top - 1 + Inset, top - Inset));
            image.AntiAlias = false;
            // A frame shows where an image ends even when its edge is as white as the page.
            var frame = plot.Add.Rectangle(column + Inset, column + 1 - Inset, top - 1 + Inset, top - Inset);
            frame.FillStyle.Color = Colors.Transparent;
            frame.LineStyle.Color = Colors.LightGray;
            frame.LineStyle.Width = 1;
            var wrong = truth is not null && truth[i] != predicted[i];
            var caption = Name(predicted[i], classNames) + (wrong ? "\n" + Name(truth![i], classNames) : "");
            var text = plot.Add.Text(caption, column + 0.5, top - 1);
            text.Alignment = Alignment.UpperCenter;
            text.LabelFontSize = 12;
            text.LabelBold = wrong;
            text.LabelFontColor = wrong ? Wrong : truth is null ? Colors.Black : Right;
        }
        plot.Axes.SetLimits(0, columns, -rows * cellHeight, 0);
        ChartCanvas.SaveGrid([plot], path, 2 * Margin + columns * CellPixels, TitlePixels + Margin + rows * (CellPixels + CaptionPixels), 1);
    }

    /// <summary>Actual against predicted (with the identity line and RMSE) when <paramref name="actual"/> is known,
    /// and both by sample.</summary>
    public static void SaveRegression(string path, float[] predicted, float[]? actual, int count)
    {
        var width = predicted.Length / count;
        var perSample = width == 1;
        var x = Enumerable.Range(0, predicted.Length).Select(i => (double)i).ToArray();
        var plots = new List<Plot>();
        if (actual is not null)
        {
            var scatter = ChartCanvas.NewPlot();
            var a = actual.Select(v => (double)v).ToArray();
            var p = predicted.Select(v => (double)v).ToArray();
            var rmse = Math.Sqrt(a.Zip(p, (u, v) => (u - v) * (u - v)).Average());
            scatter.Title(string.Create(CultureInfo.InvariantCulture, $"actual vs predicted (RMSE {rmse:G3})"), size: 14);
            scatter.XLabel("actual", size: 13);
            scatter.YLabel("predicted", size: 13);
            var finite = a.Concat(p).Where(double.IsFinite).DefaultIfEmpty(0).ToArray();
            double lo = finite.Min(), hi = finite.Max();
            if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
            var identity = scatter.Add.Line(lo, lo, hi, hi);
            identity.Color = Colors.Gray;
            identity.LineWidth = 1.5f;
            identity.LinePattern = LinePattern.Dashed;
            identity.LegendText = "predicted = actual";
            var points = scatter.Add.ScatterPoints(a, p, HistoryPlot.Train);
            points.MarkerSize = 6;
            points.LegendText = "samples";
            scatter.ShowLegend(Edge.Bottom);
            scatter.Legend.Orientation = Orientation.Horizontal;
            var pad = (hi - lo) * 0.05;
            scatter.Axes.SetLimits(lo - pad, hi + pad, lo - pad, hi + pad);
            plots.Add(scatter);
        }
        plots.Add(HistoryPlot.Build(new HistoryPlot.Panel(
            perSample ? "predictions by sample" : $"predictions by value ({width} per sample)", perSample ? "sample" : "value index",
            actual is null
                ? [new("predicted", x, predicted.Select(v => (double)v).ToArray(), HistoryPlot.Train, false)]
                : [new("actual", x, actual.Select(v => (double)v).ToArray(), Colors.Black, false),
                    new("predicted", x, predicted.Select(v => (double)v).ToArray(), HistoryPlot.Train, true)])
        { YLabel = "value" }));
        ChartCanvas.SaveGrid(plots, path, 480, 400, 2);
    }

    /// <summary>What <c>neural predict --plot</c> gathers while it prints: the first output's rows of the printed
    /// samples, and the labels of the data when it has them (read once more, with labels, since printing needs none).</summary>
    internal sealed class Collector(string path)
    {
        private readonly List<float> _rows = [];
        private int _count;

        /// <summary>The first <paramref name="shown"/> of the <paramref name="batch"/> rows of <paramref name="output"/>.</summary>
        public void Add(float[] output, int batch, int shown)
        {
            var width = output.Length / batch;
            _rows.AddRange(output.AsSpan(0, Math.Max(0, shown) * width));
            _count += Math.Max(0, shown);
        }

        /// <summary>Draws what was gathered; <paramref name="labels"/> null for unlabelled data (an NPY file, one image),
        /// whose plot shows predictions only.</summary>
        public void Save(DataArray inputs, DataArray? labels, bool classifier, IReadOnlyList<string>? classNames) =>
            PredictionPlot.Save(path, inputs.Slice(0, _count), [.. _rows], _count, classifier, labels?.Slice(0, Math.Min(_count, labels.Count)).ToFloat32(), classNames);
    }

    private static string Name(int index, IReadOnlyList<string>? classNames) =>
        classNames is not null && index >= 0 && index < classNames.Count ? classNames[index] : index.ToString(CultureInfo.InvariantCulture);

    private static int ArgMax(float[] values, int start, int length)
    {
        var best = 0;
        for (var k = 1; k < length; k++) if (values[start + k] > values[start + best]) best = k;
        return best;
    }

    private static SKBitmap ToBitmap(ReadOnlySpan<float> sample, (int Height, int Width, int Channels, bool ChannelsFirst) shape, float lo, float hi)
    {
        var (h, w, c, first) = shape;
        var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Opaque));
        var range = hi > lo ? hi - lo : 1f;
        byte Level(float v) => (byte)Math.Clamp((int)MathF.Round((float.IsFinite(v) ? v - lo : 0f) / range * 255f), 0, 255);
        for (var y = 0; y < h; y++)
        for (var x = 0; x < w; x++)
        {
            int At(int k) => first ? (k * h + y) * w + x : (y * w + x) * c + k;
            var r = Level(sample[At(0)]);
            var color = c >= 3 ? new SKColor(r, Level(sample[At(1)]), Level(sample[At(2)])) : new SKColor(r, r, r);
            bitmap.SetPixel(x, y, color);
        }
        return bitmap;
    }
}
