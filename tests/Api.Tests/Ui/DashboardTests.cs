using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Ui;

/// <summary>The dashboard at /ui/ in headless Chromium against a real loopback server: a job's curves grow while it trains
/// and end equal to the API's history; the registry pages show what the API lists. Screenshots are decoded and checked
/// for content; with UPDATE_UI_SCREENSHOTS=1 they are written to docs/img.</summary>
public sealed class DashboardTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120); // 120 epochs on a busy test machine

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task JobCurvesGrowLiveAndEndEqualToTheHistoryAndRegistryPagesShowTheApi()
    {
        Skip.IfNot(Chromium.Available, $"{Chromium.Executable} is not installed (scripts/deps.sh installs the chromium package)");
        using var api = new KestrelApi(_dir.Path, new Dictionary<string, string?> { ["Neural:Workers"] = "1" });
        using var client = api.NewClient();
        await UploadBlobsAsync(client, "ui-blobs", rows: 400);
        var body = new
        {
            model = JsonDocument.Parse(TestModels.DenseJson).RootElement,
            dataset = "ui-blobs",
            compile = new { optimizer = "adam", learning_rate = 0.002, loss = "sparse_categorical_crossentropy", metrics = new[] { "accuracy" } },
            fit = new { epochs = 120, batch_size = 16, validation_split = 0.2 },
            device = "cpu",
            register_as = "ui-blobs-classifier",
        };
        var id = (await SubmitAsync(client, body)).GetProperty("id").GetString()!;

        // /ui is the dashboard (redirected to /ui/, under which its modules resolve); nothing it loads is off this server.
        var page = await client.GetStringAsync("/ui");
        Assert.Contains("<title>NeuralService dashboard</title>", page);
        Assert.DoesNotContain("http", page.Replace("http-equiv", ""), StringComparison.OrdinalIgnoreCase);

        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(api.BaseAddress, $"/ui/#/jobs/{id}").ToString());
        await browser.WaitForAsync("document.querySelector('#chart-loss')", Wait);

        // While it trains, the charts gain points from the stream (sampled until the page says the job ended).
        var seen = await JobPageCurves.SampleUntilDoneAsync(browser, id, Wait, output);
        Assert.True(seen.Distinct().Count() >= 3, $"the curves did not grow while the job trained: {string.Join(",", seen)}");
        Assert.Equal(seen.OrderBy(n => n), seen);

        // The table shown equals the stored history, value for value; each epoch series has one point per epoch.
        var job = await WaitAsync(client, id);
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        var expected = JobPageCurves.StoredHistory(job);
        var shown = await JobPageCurves.ShownHistoryAsync(browser);
        Assert.Equal(120 * 4, expected.Count); // loss, accuracy, val_loss, val_accuracy
        Assert.Equal(expected, shown);
        var series = (await browser.EvaluateAsync("""
            Object.fromEntries(['#chart-loss', '#chart-metrics'].flatMap(s => Chart.getChart(document.querySelector(s + ' canvas')).data.datasets)
              .map(d => [d.label, d.data.length]))
            """)).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        foreach (var name in new[] { "loss", "val_loss", "accuracy", "val_accuracy" }) Assert.Equal(120, series[name]);
        Assert.True(series.GetValueOrDefault("loss (batch)") > 0, $"no batch points: {string.Join(", ", series)}");
        Assert.Equal($"ui-blobs-classifier v{job.GetProperty("registered_version").GetInt32()}",
            (await browser.EvaluateAsync("document.querySelector('#registered-link').textContent")).GetString());
        Assert.Equal("succeeded", (await browser.EvaluateAsync("document.querySelector('#job-state [data-state]').dataset.state")).GetString());
        await UiScreenshots.SaveAsync(browser, "ui-job.png", _dir.Path, output);

        // The jobs list.
        await browser.EvaluateAsync("location.hash = '#/jobs'");
        await browser.WaitForAsync($"document.querySelector('#jobs tr[data-job=\"{id}\"] [data-state=\"succeeded\"]')", Wait);
        await UiScreenshots.SaveAsync(browser, "ui-jobs.png", _dir.Path, output);

        // Registry: a second version uploaded, aliases on both; the pages show what the API lists.
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/v1/models/ui-blobs-classifier/versions", TestModels.Octets(TestModels.DenseOnnx()))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/v1/models/uploaded-dense/versions", TestModels.Octets(TestModels.DenseOnnx()))).StatusCode);
        Assert.True((await client.PutAsJsonAsync("/v1/models/ui-blobs-classifier/aliases/production", new { version = 1 })).IsSuccessStatusCode);
        Assert.True((await client.PutAsJsonAsync("/v1/models/ui-blobs-classifier/aliases/staging", new { version = 2 })).IsSuccessStatusCode);

        await browser.EvaluateAsync("location.hash = '#/models'");
        await browser.WaitForAsync("document.querySelectorAll('#models tr[data-model]').length === 2", Wait);
        var listed = JsonDocument.Parse(await client.GetStringAsync("/v1/models")).RootElement.GetProperty("models").EnumerateArray()
            .Select(m => $"{m.GetProperty("name").GetString()}|{m.GetProperty("latest_version").GetInt32()}|" +
                         string.Join(",", m.GetProperty("aliases").EnumerateObject().OrderBy(a => a.Name, StringComparer.Ordinal).Select(a => $"{a.Name}={a.Value.GetInt32()}")))
            .ToList();
        var onPage = (await browser.EvaluateAsync("""
            [...document.querySelectorAll('#models tr[data-model]')].map(tr => tr.dataset.model + '|' + tr.dataset.latest + '|' +
              [...tr.querySelectorAll('[data-alias]')].map(a => a.dataset.alias + '=' + a.dataset.version).join(','))
            """)).EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(listed, onPage);
        Assert.Contains("ui-blobs-classifier|2|production=1,staging=2", onPage);
        await UiScreenshots.SaveAsync(browser, "ui-models.png", _dir.Path, output);

        // The model page: every version with its aliases, the signature of the version shown, a working ONNX link.
        await browser.EvaluateAsync("location.hash = '#/models/ui-blobs-classifier/1'");
        await browser.WaitForAsync("document.querySelector('#onnx-link')", Wait);
        var model = JsonDocument.Parse(await client.GetStringAsync("/v1/models/ui-blobs-classifier")).RootElement;
        var versionsApi = model.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()).OrderDescending().ToList();
        var versionsShown = (await browser.EvaluateAsync("[...document.querySelectorAll('#versions tr[data-version]')].map(tr => Number(tr.dataset.version))"))
            .EnumerateArray().Select(e => e.GetInt32()).ToList();
        Assert.Equal(versionsApi, versionsShown);
        Assert.Equal("production", (await browser.EvaluateAsync("document.querySelector('#versions tr[data-version=\"1\"] [data-alias]').dataset.alias")).GetString());
        var v1 = JsonDocument.Parse(await client.GetStringAsync("/v1/models/ui-blobs-classifier/versions/1")).RootElement;
        var signature = (await browser.EvaluateAsync("document.querySelector('#signature').innerText")).GetString()!;
        foreach (var t in v1.GetProperty("inputs").EnumerateArray().Concat(v1.GetProperty("outputs").EnumerateArray()))
            Assert.Contains(t.GetProperty("name").GetString()!, signature);
        Assert.Equal(id, (await browser.EvaluateAsync("document.querySelector('#version-facts a[href^=\"#/jobs/\"]').textContent")).GetString());
        var href = (await browser.EvaluateAsync("document.querySelector('#onnx-link').getAttribute('href')")).GetString()!;
        var onnx = await client.GetByteArrayAsync(href);
        Assert.Equal(v1.GetProperty("size_bytes").GetInt64(), onnx.LongLength);
        // docs/img/ui-model.png is TryItTests' (the whole model page of an image classifier after a try).

        // Phone-sized viewports are checked page by page in AccessibilityTests.
        Assert.Empty(browser.PageErrors);
    }
}
