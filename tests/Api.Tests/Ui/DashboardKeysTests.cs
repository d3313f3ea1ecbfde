using System.Net.Http.Json;
using System.Text.Json;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Ui;

/// <summary>The dashboard with API keys on: pages read without a key; cancelling is refused with the server's message until
/// a key is entered in the page, which then sends it and the job ends canceled.</summary>
public sealed class DashboardKeysTests : IDisposable
{
    private readonly TempDir _dir = new();
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task CancelNeedsTheKeyEnteredInThePage()
    {
        Skip.IfNot(Chromium.Available, $"{Chromium.Executable} is not installed (scripts/deps.sh installs the chromium package)");
        using var api = new KestrelApi(_dir.Path, new Dictionary<string, string?> { ["Neural:Workers"] = "1", ["NEURAL_API_KEYS"] = "ui-secret" });
        using var client = api.NewClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", "ui-secret");
        await UploadBlobsAsync(client, "ui-keys", rows: 400);
        var id = (await SubmitAsync(client, JobBody("ui-keys", "ui-keys-model", epochs: 5000))).GetProperty("id").GetString()!;

        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(api.BaseAddress, $"/ui/#/jobs/{id}").ToString());
        await browser.WaitForAsync("Number(document.querySelector('#chart-loss')?.dataset.points) > 0", Wait);
        Assert.Equal("read-only", (await browser.EvaluateAsync("document.querySelector('#key-state').textContent")).GetString());

        // A reload mid-training draws the stored history at once, then resumes the stream after it: epochs keep coming,
        // each once (x strictly increasing).
        const string epochXs = "Chart.getChart(document.querySelector('#chart-loss canvas')).data.datasets.find(d => d.label === 'loss')?.data.map(p => p.x) ?? []";
        await browser.WaitForAsync($"({epochXs}).length >= 2", Wait);
        await browser.ReloadAsync(Wait);
        await browser.WaitForAsync("document.querySelector('#chart-loss')", Wait);
        var stored = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}")).RootElement.GetProperty("history").GetArrayLength();
        await browser.WaitForAsync($"({epochXs}).length >= {stored + 2}", Wait);
        var xs = (await browser.EvaluateAsync(epochXs)).EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.Equal(Enumerable.Range(1, xs.Count).Select(i => (double)i), xs);

        await browser.EvaluateAsync("document.querySelector('#cancel').click()");
        await browser.WaitForAsync("!document.querySelector('#alert').hidden", Wait);
        Assert.Contains("needs an API key", (await browser.EvaluateAsync("document.querySelector('#alert').textContent")).GetString());
        Assert.Equal("running", JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}")).RootElement.GetProperty("state").GetString());

        await browser.EvaluateAsync("""
            document.querySelector('#api-key').value = 'ui-secret';
            document.querySelector('#key-form').requestSubmit();
            document.querySelector('#cancel').click();
            """);
        await browser.WaitForAsync("document.querySelector('#history')?.dataset.done === 'true'", Wait);
        Assert.Equal("canceled", (await browser.EvaluateAsync("document.querySelector('#job-state [data-state]').dataset.state")).GetString());
        Assert.Equal("canceled", (await WaitAsync(client, id)).GetProperty("state").GetString());
        Assert.True((await browser.EvaluateAsync("document.querySelector('#alert').hidden")).GetBoolean());
        Assert.Empty(browser.PageErrors);
    }
}
