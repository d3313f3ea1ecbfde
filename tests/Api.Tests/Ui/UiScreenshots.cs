using SkiaSharp;

namespace NeuralService.Api.Tests.Ui;

/// <summary>Screenshots of dashboard pages: decoded and checked for content (not one flat colour), then kept in the
/// test's directory, or in docs/img when UPDATE_UI_SCREENSHOTS=1.</summary>
internal static class UiScreenshots
{
    public static bool Updating => Environment.GetEnvironmentVariable("UPDATE_UI_SCREENSHOTS") == "1";

    public static async Task<string> SaveAsync(Chromium browser, string name, string scratchDirectory, Xunit.Abstractions.ITestOutputHelper output)
    {
        await Task.Delay(150); // a frame for the charts' last draw
        var png = await browser.ScreenshotAsync();
        using var bitmap = SKBitmap.Decode(png) ?? throw new InvalidOperationException($"{name}: not a PNG");
        var background = bitmap.GetPixel(bitmap.Width - 1, bitmap.Height - 1);
        long differing = 0;
        for (var y = 0; y < bitmap.Height; y += 2)
            for (var x = 0; x < bitmap.Width; x += 2)
                if (bitmap.GetPixel(x, y) != background) differing++;
        var fraction = differing / (bitmap.Width / 2.0 * bitmap.Height / 2.0);
        output.WriteLine($"{name}: {bitmap.Width}x{bitmap.Height}, {fraction:P1} of pixels differ from the background");
        Assert.True(fraction > 0.03, $"{name} looks blank ({fraction:P2} of pixels drawn)");
        var dir = Updating ? DocsImg() : Path.Combine(scratchDirectory, "screenshots");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name);
        await File.WriteAllBytesAsync(path, png);
        return path;
    }

    public static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "NeuralService.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("no NeuralService.sln above the test directory");
    }

    private static string DocsImg() => Path.Combine(RepoRoot(), "docs", "img");
}
