using System.Net;
using System.Text.RegularExpressions;
using SkiaSharp;

namespace NeuralService.Api.Tests.OpenApi;

/// <summary>Swagger UI as a browser shows it: Debian's headless Chromium loads <c>/swagger/index.html</c> from the real
/// Kestrel server, with every host but loopback unresolvable, and must render every operation of the document.</summary>
public sealed partial class SwaggerUiTests(OpenApiFixture fx) : IClassFixture<OpenApiFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("swagger-ui").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Index => new Uri(fx.Api.BaseAddress, "/swagger/index.html").ToString();

    [Fact]
    public async Task SwaggerUiAssetsComeFromTheServiceItself()
    {
        var html = await fx.Api.Client.GetStringAsync("/swagger/index.html");
        var assets = AssetRegex().Matches(html).Select(m => m.Groups[1].Value).ToList();
        Assert.Contains(assets, a => a.EndsWith("swagger-ui-bundle.js", StringComparison.Ordinal));
        Assert.Contains(assets, a => a.EndsWith("swagger-ui.css", StringComparison.Ordinal));
        foreach (var asset in assets)
        {
            Assert.False(Uri.TryCreate(asset, UriKind.Absolute, out var abs) && abs.Scheme.StartsWith("http", StringComparison.Ordinal), $"external asset {asset}");
            var response = await fx.Api.Client.GetAsync(new Uri(new Uri(fx.Api.BaseAddress, "/swagger/"), asset));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{asset}: {(int)response.StatusCode}");
            Assert.True((await response.Content.ReadAsByteArrayAsync()).Length > 0, $"{asset} is empty");
        }
    }

    [Fact]
    public void SwaggerUiRendersEveryOperation()
    {
        var result = ExternalTools.RunChromium(Index, "--dump-dom");
        Assert.True(result.ExitCode == 0, result.ToString());
        var rendered = OperationRegex().Matches(result.Stdout)
            .Select(m => (Method: m.Groups[1].Value.ToUpperInvariant(), Path: WebUtility.HtmlDecode(m.Groups[2].Value)))
            .ToList();
        var documented = fx.Operations().Select(o => (o.Method, o.Path)).ToHashSet();
        Assert.True(rendered.Count == documented.Count, $"{rendered.Count} operations rendered, {documented.Count} documented:\n{Excerpt(result.Stdout)}");
        Assert.Equal(documented.OrderBy(o => o.Path).ThenBy(o => o.Method), rendered.OrderBy(o => o.Path).ThenBy(o => o.Method));
        Assert.Contains("NeuralService", result.Stdout);
        Assert.Contains("Authorize", result.Stdout);
    }

    [Fact]
    public void SwaggerUiScreenshotIsARealPicture()
    {
        var png = Path.Combine(_dir, "swagger-ui.png");
        var result = ExternalTools.RunChromium(Index, "--window-size=1280,2250", "--screenshot=" + png);
        Assert.True(result.ExitCode == 0 && File.Exists(png), result.ToString());
        var bytes = File.ReadAllBytes(png);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, bytes[..8]);
        Assert.InRange(bytes.Length, 20_000, 5_000_000);

        using var bitmap = SKBitmap.Decode(bytes) ?? throw new InvalidDataException("the screenshot does not decode");
        Assert.Equal(1280, bitmap.Width);
        Assert.Equal(2250, bitmap.Height);
        // A blank or error page has a handful of colours; the rendered UI has coloured method badges and text.
        var colours = new HashSet<uint>();
        long dark = 0, samples = 0;
        for (var y = 0; y < bitmap.Height; y += 3)
            for (var x = 0; x < bitmap.Width; x += 3)
            {
                var c = bitmap.GetPixel(x, y);
                colours.Add((uint)c);
                if (c.Red + c.Green + c.Blue < 200) dark++;
                samples++;
            }
        Assert.True(colours.Count > 200, $"only {colours.Count} colours");
        Assert.InRange(dark / (double)samples, 0.005, 0.5);
        // Swagger UI's GET badge blue (#61affe) and POST green (#49cc90) are on the page.
        Assert.Contains(colours, c => Near(c, 0x61, 0xAF, 0xFE));
        Assert.Contains(colours, c => Near(c, 0x49, 0xCC, 0x90));

        if (Environment.GetEnvironmentVariable("NEURAL_SWAGGER_SCREENSHOT") is { Length: > 0 } keep) File.Copy(png, keep, overwrite: true);
    }

    private static bool Near(uint argb, int r, int g, int b) =>
        Math.Abs((int)((argb >> 16) & 0xFF) - r) < 6 && Math.Abs((int)((argb >> 8) & 0xFF) - g) < 6 && Math.Abs((int)(argb & 0xFF) - b) < 6;

    private static string Excerpt(string dom) => dom.Length > 2000 ? dom[..2000] + "…" : dom;

    [GeneratedRegex("""(?:src|href)="([^"]+\.(?:js|css))["?]""")]
    private static partial Regex AssetRegex();

    [GeneratedRegex(""""<span class="opblock-summary-method">(\w+)</span>.*?class="opblock-summary-path" data-path="([^"]*)"""", RegexOptions.Singleline)]
    private static partial Regex OperationRegex();
}
