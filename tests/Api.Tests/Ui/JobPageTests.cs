using System.Text.Json;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Ui;

/// <summary>The job page in headless Chromium against a loopback server: the submitted spec, and the job's log lines
/// appended while it trains and ending equal to GET /v1/jobs/{id}/logs.</summary>
public sealed class JobPageTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(180); // the machine running the tests may be busy

    public void Dispose() => _dir.Dispose();

    [SkippableFact]
    public async Task TheJobPageShowsTheSpecAndAppendsTheLogLiveUntilItEqualsTheApi()
    {
        Skip.IfNot(Chromium.Available, $"{Chromium.Executable} is not installed (scripts/deps.sh installs the chromium package)");
        using var api = new KestrelApi(_dir.Path);
        using var client = api.NewClient();
        await UploadBlobsAsync(client, "page-blobs", rows: 400);
        var model = JsonDocument.Parse(TestModels.DenseJson).RootElement;
        var body = new
        {
            model,
            dataset = "page-blobs",
            compile = new { optimizer = "adam", learning_rate = 0.002, loss = "sparse_categorical_crossentropy", metrics = new[] { "accuracy" } },
            fit = new { epochs = 60, batch_size = 16, validation_split = 0.2 },
            device = "cpu",
            register_as = "page-classifier",
        };
        var id = (await SubmitAsync(client, body)).GetProperty("id").GetString()!;

        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(api.BaseAddress, $"/ui/#/jobs/{id}").ToString());
        await browser.WaitForAsync("document.querySelector('#spec-facts')", Wait);

        // The spec as submitted, one fact per setting.
        var facts = (await browser.EvaluateAsync("Object.fromEntries([...document.querySelectorAll('#spec-facts dd')].map(d => [d.dataset.spec, d.textContent]))"))
            .EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
        output.WriteLine(string.Join("\n", facts.Select(kv => $"{kv.Key}: {kv.Value}")));
        Assert.Equal("Sequential “mlp” · 3 layers: InputLayer, Dense 8 relu, Dense 3 softmax", facts["model"]);
        Assert.Equal("page-blobs", facts["dataset"]);
        Assert.Equal("20 % of the training data", facts["validation"]);
        Assert.Equal("adam, learning rate 0.002", facts["optimizer"]);
        Assert.Equal("sparse_categorical_crossentropy", facts["loss"]);
        Assert.Equal("accuracy", facts["metrics"]);
        Assert.Equal("60", facts["epochs"]);
        Assert.Equal("16", facts["batch_size"]);
        Assert.Equal("cpu", facts["device"]);
        Assert.Equal("page-classifier", facts["register_as"]);
        var shownModel = JsonDocument.Parse((await browser.EvaluateAsync("document.querySelector('#model-json').textContent")).GetString()!).RootElement;
        Assert.Equal(JsonSerializer.Serialize(model), JsonSerializer.Serialize(shownModel));

        // While it trains, log lines are appended (sampled until the page says the job and its log ended).
        var seen = new List<int>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((await browser.EvaluateAsync("document.querySelector('#log').dataset.done === 'true'")).ValueKind != JsonValueKind.True)
        {
            Assert.True(clock.Elapsed < Wait, $"the page did not see job {id}'s log end; page errors: {string.Join(" | ", browser.PageErrors)}; " +
                $"job: {await client.GetStringAsync($"/v1/jobs/{id}")}; page: {await browser.EvaluateAsync("document.querySelector('main').innerText")}");
            if ((await browser.EvaluateAsync("document.querySelector('#history').dataset.done === 'true'")).ValueKind != JsonValueKind.True)
                seen.Add(int.Parse((await browser.EvaluateAsync("document.querySelector('#log').dataset.lines")).GetString()!, System.Globalization.CultureInfo.InvariantCulture));
            await Task.Delay(100);
        }
        output.WriteLine($"log line counts seen while training: {string.Join(",", seen.Distinct())} ({clock.Elapsed.TotalSeconds:0.0} s)");
        Assert.Equal(seen.OrderBy(n => n), seen);

        // The log shown is the API's, line for line, and holds the start, the epochs and the end.
        var logs = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}/logs?limit=1000")).RootElement.GetProperty("lines").EnumerateArray()
            .Select(l => $"{l.GetProperty("id").GetInt64()}|{l.GetProperty("level").GetString()}|{Short(l.GetProperty("message").GetString()!, id)}").ToList();
        var shown = (await browser.EvaluateAsync("""
            [...document.querySelectorAll('#log .log-line')].map(l => l.dataset.id + '|' + l.dataset.level + '|' + l.querySelector('.message').textContent)
            """)).EnumerateArray().Select(e => e.GetString()!).ToList();
        // (The service that launched the worker process may log its exit after the page stopped reading.)
        Assert.Equal(logs.Take(shown.Count), shown);
        Assert.Contains(shown, l => l.EndsWith("|information|Started (attempt 1, from epoch 0)", StringComparison.Ordinal));
        Assert.Contains(shown, l => l.Contains("|information|Epoch 60/60: loss ", StringComparison.Ordinal));
        Assert.Contains(shown, l => l.EndsWith("|information|Ended Succeeded", StringComparison.Ordinal));
        Assert.True(seen.Any(n => n > 0 && n < shown.Count), $"no log lines appeared while the job trained: {string.Join(",", seen.Distinct())}");

        await browser.EvaluateAsync("document.querySelector('#log-h').scrollIntoView()");
        await UiScreenshots.SaveAsync(browser, "ui-job-log.png", _dir.Path, output);
        Assert.Empty(browser.PageErrors);
    }

    /// <summary>A log line as the job's page shows it: without the "job ID" it starts with, capitalized.</summary>
    private static string Short(string message, string id)
    {
        var prefix = $"job {id}";
        if (!message.StartsWith(prefix, StringComparison.Ordinal)) return message;
        var rest = message[prefix.Length..];
        rest = rest.StartsWith(": ", StringComparison.Ordinal) ? rest[2..] : rest.StartsWith(' ') ? rest[1..] : rest;
        return rest.Length == 0 ? rest : char.ToUpperInvariant(rest[0]) + rest[1..];
    }
}
