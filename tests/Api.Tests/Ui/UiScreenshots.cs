using SkiaSharp;

namespace NeuralService.Api.Tests.Ui;

/// <summary>Screenshots of dashboard pages: decoded and checked for content (not one flat colour), then kept in the
/// test's directory, or in docs/img when UPDATE_UI_SCREENSHOTS=1.</summary>
internal static class UiScreenshots
{
    public static bool Updating => Environment.GetEnvironmentVariable("UPDATE_UI_SCREENSHOTS") == "1";

    /// <summary>The viewport as it is; <paramref name="docs"/> false keeps it out of docs/img even when updating.</summary>
    public static async Task<string> SaveAsync(Chromium browser, string name, string scratchDirectory, Xunit.Abstractions.ITestOutputHelper output, bool docs = true)
    {
        await Task.Delay(150); // a frame for the charts' last draw
        return await KeepAsync(await browser.ScreenshotAsync(), name, scratchDirectory, output, docs);
    }

    /// <summary>The whole page: the viewport grown to the page's height for the shot, then put back.</summary>
    public static async Task<string> SaveFullPageAsync(Chromium browser, string name, string scratchDirectory, Xunit.Abstractions.ITestOutputHelper output, int width = 1280)
    {
        var height = (await browser.EvaluateAsync("document.documentElement.scrollHeight")).GetInt32();
        await browser.SetViewportAsync(width, height);
        await Task.Delay(200);
        var png = await browser.ScreenshotAsync();
        await browser.SetViewportAsync(width, width < 600 ? 844 : 800);
        return await KeepAsync(png, name, scratchDirectory, output, docs: true);
    }

    private static async Task<string> KeepAsync(byte[] png, string name, string scratchDirectory, Xunit.Abstractions.ITestOutputHelper output, bool docs)
    {
        using var bitmap = SKBitmap.Decode(png) ?? throw new InvalidOperationException($"{name}: not a PNG");
        var background = bitmap.GetPixel(bitmap.Width - 1, bitmap.Height - 1);
        long differing = 0;
        for (var y = 0; y < bitmap.Height; y += 2)
            for (var x = 0; x < bitmap.Width; x += 2)
                if (bitmap.GetPixel(x, y) != background) differing++;
        var fraction = differing / (bitmap.Width / 2.0 * bitmap.Height / 2.0);
        output.WriteLine($"{name}: {bitmap.Width}x{bitmap.Height}, {fraction:P1} of pixels differ from the background");
        Assert.True(fraction > 0.03, $"{name} looks blank ({fraction:P2} of pixels drawn)");
        var dir = docs && Updating ? DocsImg() : Path.Combine(scratchDirectory, "screenshots");
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
