using System.Net;
using System.Text.Json;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Ui;

/// <summary>Every dashboard page, at a desktop (1280×800) and a phone (390×844) viewport, in headless Chromium against a
/// loopback server: axe-core finds no serious or critical accessibility violation (the others are reported), the page
/// never scrolls sideways and every navigation link is on screen and clickable. Phone screenshots go to
/// docs/img/ui-*-phone.png with UPDATE_UI_SCREENSHOTS=1.</summary>
public sealed class AccessibilityTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly string[] Failing = ["serious", "critical"];

    public void Dispose() => _dir.Dispose();

    /// <summary>A page of the dashboard: its route and a JavaScript condition that holds once it shows everything.</summary>
    public sealed record UiRoute(string Name, string Hash, string Ready);

    /// <summary>The pages checked. Routes the header's navigation links to are found on the page and checked too, so a
    /// new top-level page is covered once it is in the navigation; add detail pages (those reached from a list) here.</summary>
    private static IReadOnlyList<UiRoute> Routes(string jobId, string model) =>
    [
        new("jobs", "#/jobs", $"document.querySelector('#jobs tr[data-job=\"{jobId}\"]')"),
        new("job", $"#/jobs/{jobId}", "document.querySelector('#history')?.dataset.done === 'true' && document.querySelector('#log')?.dataset.done === 'true'"),
        new("models", "#/models", $"document.querySelector('#models tr[data-model=\"{model}\"]')"),
        new("model", $"#/models/{model}/1", "document.querySelector('#onnx-link')"),
    ];

    /// <summary>A page reached from the navigation and not listed: ready once its heading is drawn.</summary>
    private const string HeadingReady = "document.querySelector('main h1') && !document.querySelector('main').textContent.includes('Loading…')";

    private static readonly (string Name, int Width, int Height)[] Viewports = [("desktop", 1280, 800), ("phone", 390, 844)];

    [SkippableFact]
    public async Task EveryPageHasNoSeriousViolationsAndFitsDesktopAndPhoneViewports()
    {
        Skip.IfNot(Chromium.Available, $"{Chromium.Executable} is not installed (scripts/deps.sh installs the chromium package)");
        var axe = Path.Combine(UiScreenshots.RepoRoot(), "tools", "axe", "node_modules", "axe-core", "axe.min.js");
        if (!File.Exists(axe)) throw new InvalidOperationException("tools/axe is not installed: source scripts/axe-tools.sh && install_axe_tools");

        using var api = new KestrelApi(_dir.Path);
        using var client = api.NewClient();
        await UploadBlobsAsync(client, "a11y-blobs");
        var body = new
        {
            model = JsonDocument.Parse(TestModels.DenseJson).RootElement,
            dataset = "a11y-blobs",
            compile = new { optimizer = "adam", learning_rate = 0.01, loss = "sparse_categorical_crossentropy", metrics = new[] { "accuracy" } },
            fit = new { epochs = 3, batch_size = 16, validation_split = 0.2 },
            device = "cpu",
            register_as = "a11y-classifier",
        };
        var id = (await SubmitAsync(client, body)).GetProperty("id").GetString()!;
        Assert.Equal("succeeded", (await WaitAsync(client, id, seconds: 180)).GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/v1/models/a11y-classifier/versions", TestModels.Octets(TestModels.DenseOnnx()))).StatusCode);

        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(api.BaseAddress, "/ui/#/jobs").ToString());
        await browser.WaitForAsync("document.querySelector('#jobs')", Wait);
        await browser.EvaluateAsync(await File.ReadAllTextAsync(axe));
        Assert.Equal("4.14.1", (await browser.EvaluateAsync("axe.version")).GetString());

        var routes = Routes(id, "a11y-classifier").ToList();
        var navigation = (await browser.EvaluateAsync("[...document.querySelectorAll('header nav a[href^=\"#/\"]')].map(a => a.getAttribute('href'))"))
            .EnumerateArray().Select(e => e.GetString()!).ToList();
        foreach (var hash in navigation.Where(h => routes.All(r => r.Hash != h)))
            routes.Add(new UiRoute(hash.TrimStart('#', '/').Replace('/', '-'), hash, HeadingReady));
        Assert.Contains(navigation, h => h == "#/jobs");

        var failures = new List<string>();
        foreach (var (viewport, width, height) in Viewports)
        {
            await browser.SetViewportAsync(width, height);
            foreach (var route in routes)
            {
                await browser.EvaluateAsync("location.hash = '#/none'"); // every visit renders the page afresh
                await browser.EvaluateAsync($"location.hash = {JsonSerializer.Serialize(route.Hash)}");
                await browser.WaitForAsync(route.Ready, Wait);
                await browser.EvaluateAsync("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))");
                var where = $"{route.Name} ({route.Hash}) at {viewport} {width}x{height}";

                var violations = (await browser.EvaluateAsync("""
                    axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations.map(v => ({
                      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' ') + ': ' + (n.failureSummary || '').split('\n').slice(1).join(' ')).slice(0, 4) })))
                    """)).EnumerateArray().ToList();
                foreach (var v in violations)
                {
                    var impact = v.GetProperty("impact").GetString() ?? "";
                    var line = $"{where}: [{impact}] {v.GetProperty("id").GetString()}: {v.GetProperty("help").GetString()} — " +
                               string.Join(" | ", v.GetProperty("nodes").EnumerateArray().Select(n => n.GetString()));
                    output.WriteLine(line);
                    if (Failing.Contains(impact)) failures.Add(line);
                }

                // The page itself never scrolls sideways (wide tables and logs scroll in their own box).
                var scrollWidth = (await browser.EvaluateAsync("document.documentElement.scrollWidth")).GetInt32();
                var innerWidth = (await browser.EvaluateAsync("innerWidth")).GetInt32();
                if (scrollWidth > innerWidth) failures.Add($"{where}: the page scrolls sideways ({scrollWidth} px wide in {innerWidth})");
                // Every navigation link (and the API docs one) is on screen and is what a tap at its centre reaches.
                var unreachable = (await browser.EvaluateAsync("""
                    [...document.querySelectorAll('header nav a')].filter(a => {
                      const r = a.getBoundingClientRect();
                      if (r.width === 0 || r.height === 0 || r.left < 0 || r.right > innerWidth || r.top < 0 || r.bottom > innerHeight) return true;
                      return !a.contains(document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2));
                    }).map(a => a.textContent)
                    """)).EnumerateArray().Select(e => e.GetString()).ToList();
                if (unreachable.Count > 0) failures.Add($"{where}: navigation links off screen or covered: {string.Join(", ", unreachable)}");

                if (viewport == "phone") await UiScreenshots.SaveAsync(browser, $"ui-{route.Name}-phone.png", _dir.Path, output);
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Empty(browser.PageErrors);
    }
}
