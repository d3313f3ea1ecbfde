using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Ui;

/// <summary>The dashboard's hash routing in headless Chromium against a real loopback server.</summary>
public sealed class RoutingTests : IDisposable
{
    private readonly TempDir _dir = new();
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    public void Dispose() => _dir.Dispose();

    /// <summary>A page still loading when the user moves on (here the submit page, whose specs answer late) must not
    /// render over the page that replaced it: under load the accessibility walk once found the submit form where it
    /// waited for the jobs table.</summary>
    [SkippableFact]
    public async Task APageThatFinishesLoadingAfterTheUserMovedOnDoesNotReplaceTheNextPage()
    {
        Skip.IfNot(Chromium.Available, $"{Chromium.Executable} is not installed (scripts/deps.sh installs the chromium package)");
        using var api = new KestrelApi(_dir.Path);
        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(api.BaseAddress, "/ui/#/jobs").ToString());
        await browser.WaitForAsync("document.querySelector('#jobs')", Wait);

        await browser.EvaluateAsync("""
            (() => {
              const fetchNow = window.fetch;
              window.fetch = (url, init) => String(url).includes('/v1/specs')
                ? new Promise(r => setTimeout(r, 1500)).then(() => fetchNow(url, init))
                : fetchNow(url, init);
              location.hash = '#/submit';
              setTimeout(() => { location.hash = '#/models'; }, 100);
            })()
            """);
        await browser.WaitForAsync("document.querySelector('main h1')?.textContent.includes('Models')", Wait);
        // Past the moment the submit page's specs arrive and it renders, wherever it renders.
        await browser.EvaluateAsync("new Promise(r => setTimeout(r, 2500))");

        Assert.Equal("#/models", (await browser.EvaluateAsync("location.hash")).GetString());
        Assert.Equal(0, (await browser.EvaluateAsync("document.querySelectorAll('#submit-form').length")).GetInt32());
        Assert.Contains("Models", (await browser.EvaluateAsync("document.querySelector('main h1').textContent")).GetString());
        Assert.Empty(browser.PageErrors);
    }
}
