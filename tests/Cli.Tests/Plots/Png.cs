using SkiaSharp;

namespace NeuralService.Cli.Tests.Plots;

/// <summary>Reads a written picture back the way a viewer would: decoded PNG pixels, counted by colour in a region.</summary>
internal static class Png
{
    /// <summary>Decodes the PNG; with NEURAL_PLOT_SAMPLES set, also copies it there to be looked at (docs/img holds such copies).</summary>
    public static SKBitmap Decode(string path)
    {
        if (Environment.GetEnvironmentVariable("NEURAL_PLOT_SAMPLES") is { Length: > 0 } keep)
        {
            Directory.CreateDirectory(keep);
            File.Copy(path, Path.Combine(keep, Path.GetFileName(path)), overwrite: true);
        }
        var bytes = File.ReadAllBytes(path);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], bytes[..4]);
        return SKBitmap.Decode(bytes) ?? throw new InvalidDataException($"{path} does not decode as an image");
    }

    /// <summary>Pixels within <paramref name="tolerance"/> (per channel) of <paramref name="color"/> in the rectangle.</summary>
    public static int Count(SKBitmap bitmap, ScottPlot.Color color, int left, int top, int right, int bottom, int tolerance = 40)
    {
        var n = 0;
        for (var y = Math.Max(0, top); y < Math.Min(bitmap.Height, bottom); y++)
        for (var x = Math.Max(0, left); x < Math.Min(bitmap.Width, right); x++)
        {
            var p = bitmap.GetPixel(x, y);
            if (Math.Abs(p.Red - color.R) <= tolerance && Math.Abs(p.Green - color.G) <= tolerance && Math.Abs(p.Blue - color.B) <= tolerance) n++;
        }
        return n;
    }

    /// <summary>Pixels that are not white: something was drawn there.</summary>
    public static int Inked(SKBitmap bitmap, int left, int top, int right, int bottom)
    {
        var n = 0;
        for (var y = Math.Max(0, top); y < Math.Min(bitmap.Height, bottom); y++)
        for (var x = Math.Max(0, left); x < Math.Min(bitmap.Width, right); x++)
        {
            var p = bitmap.GetPixel(x, y);
            if (p.Red < 200 || p.Green < 200 || p.Blue < 200) n++;
        }
        return n;
    }

    /// <summary>Colour "reddish" (the wrong-prediction captions): strong red, weak green and blue.</summary>
    public static int Reddish(SKBitmap bitmap, int left, int top, int right, int bottom)
    {
        var n = 0;
        for (var y = Math.Max(0, top); y < Math.Min(bitmap.Height, bottom); y++)
        for (var x = Math.Max(0, left); x < Math.Min(bitmap.Width, right); x++)
        {
            var p = bitmap.GetPixel(x, y);
            if (p.Red > 180 && p.Green < 120 && p.Blue < 120) n++;
        }
        return n;
    }

    public static void IsInteger(string label) =>
        Assert.True(long.TryParse(label, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out _), $"tick '{label}' is not a whole number");
}
