using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Ui;

/// <summary>The submit page (#/submit) in headless Chromium against a real loopback server: a dataset uploaded from the
/// page, the mlp spec chosen from GET /v1/specs, invalid values answered next to their field, then a real job started
/// from the form whose page shows its curves growing and what the API holds. With UPDATE_UI_SCREENSHOTS=1 the form is
/// kept as docs/img/ui-submit.png.</summary>
public sealed class SubmitPageTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    /// <summary>How long the job may take to train: a few seconds alone, much longer on a machine busy with other builds.</summary>
    private static readonly TimeSpan TrainWait = TimeSpan.FromSeconds(180);
    /// <summary>Enough epochs that the page sees the job run for a few seconds even on a quiet machine (15 took 1.7 s).</summary>
    private const int Epochs = 120;

    public void Dispose() => _dir.Dispose();

    /// <summary>Ten separable classes of 784 features (class c is high on features 78c..78c+77), label last: fits the
    /// mlp spec's input [784] and output [10]. Made in the page, as a file a user would pick.</summary>
    private const string MakeCsvFile = """
        (() => {
          const rows = ['f' + [...Array(784).keys()].join(',f') + ',label'];
          let seed = 7;
          const rand = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
          for (let i = 0; i < 200; i++) {
            const c = i % 10;
            const x = [];
            for (let f = 0; f < 784; f++) x.push(((Math.floor(f / 78) === c ? 0.8 : 0) + rand() * 0.2).toFixed(2));
            rows.push(x.join(',') + ',' + c);
          }
          const dt = new DataTransfer();
          dt.items.add(new File([rows.join('\n') + '\n'], 'tenclass.csv', { type: 'text/csv' }));
          document.querySelector('#f-upload-file').files = dt.files;
          return dt.files[0].size;
        })()
        """;

    [SkippableFact]
    public async Task AJobSubmittedFromTheFormTrainsAndInvalidFieldsAreShownWhereTheyAre()
    {
        Skip.IfNot(Chromium.Available, $"{Chromium.Executable} is not installed (scripts/deps.sh installs the chromium package)");
        using var api = new KestrelApi(_dir.Path, new Dictionary<string, string?> { ["Neural:Workers"] = "1" });
        using var client = api.NewClient();

        await using var browser = await Chromium.StartAsync();
        // The jobs list links to the form.
        await browser.NavigateAsync(new Uri(api.BaseAddress, "/ui/#/jobs").ToString());
        await browser.WaitForAsync("document.querySelector('#new-job')", Wait);
        await browser.EvaluateAsync("document.querySelector('#new-job').click()");
        await browser.WaitForAsync("document.querySelector('#f-spec option[value=\"mlp\"]')", Wait);
        Assert.Equal("page", (await browser.EvaluateAsync("document.querySelector('[data-nav=\"submit\"]').getAttribute('aria-current')")).GetString());

        // Every control has a label and can be reached with the keyboard.
        var unlabelled = (await browser.EvaluateAsync("""
            [...document.querySelectorAll('#submit-form input, #submit-form select, #submit-form textarea, #submit-form button')]
              .filter(c => c.tabIndex < 0 || (c.tagName !== 'BUTTON' && c.labels.length === 0)).map(c => c.id)
            """)).EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Empty(unlabelled);

        // The spec list is the API's; choosing one fills in its JSON.
        var specs = JsonDocument.Parse(await client.GetStringAsync("/v1/specs")).RootElement.GetProperty("specs").EnumerateArray()
            .Select(s => s.GetProperty("name").GetString()).ToList();
        Assert.Equal(specs, (await browser.EvaluateAsync("[...document.querySelectorAll('#f-spec option')].slice(1).map(o => o.value)"))
            .EnumerateArray().Select(e => e.GetString()));
        await SetAsync(browser, "#f-spec", "mlp", "change");
        await browser.WaitForAsync("document.querySelector('#f-model').value.includes('\"Sequential\"')", Wait);
        var spec = JsonNode.Parse(await client.GetStringAsync("/v1/specs/mlp"))!;
        Assert.Equal((string?)spec["description"], (await browser.EvaluateAsync("document.querySelector('#f-spec-hint').textContent")).GetString());

        // A dataset uploaded from the page becomes the chosen one.
        Assert.True((await browser.EvaluateAsync(MakeCsvFile)).GetInt32() > 100_000);
        await SetAsync(browser, "#f-upload-name", "tenclass");
        await browser.EvaluateAsync("document.querySelector('#upload').open = true; document.querySelector('#upload-button').click()");
        await browser.WaitForAsync("document.querySelector('#f-dataset').value.startsWith('ds-')", Wait);
        var datasetId = (await browser.EvaluateAsync("document.querySelector('#f-dataset').value")).GetString()!;
        var dataset = JsonDocument.Parse(await client.GetStringAsync($"/v1/datasets/{datasetId}")).RootElement;
        Assert.Equal("tenclass", dataset.GetProperty("name").GetString());
        Assert.Equal(200, dataset.GetProperty("samples").GetInt32());
        Assert.Contains("tenclass", (await browser.EvaluateAsync("document.querySelector('#f-dataset').selectedOptions[0].textContent")).GetString());
        // The built-in datasets the API lists are offered too.
        foreach (var builtin in JsonDocument.Parse(await client.GetStringAsync("/v1/datasets")).RootElement.GetProperty("datasets").EnumerateArray().Where(d => d.GetProperty("builtin").GetBoolean()))
            Assert.True((await browser.EvaluateAsync($"!!document.querySelector('#f-dataset option[value=\"{builtin.GetProperty("name").GetString()}\"]')")).GetBoolean());

        await SetAsync(browser, "#f-compile-optimizer", "adam");
        await SetAsync(browser, "#f-compile-learning-rate", "0.01");
        await SetAsync(browser, "#f-compile-metrics", "accuracy");
        await SetAsync(browser, "#f-fit-batch-size", "16");
        await SetAsync(browser, "#f-fit-validation-split", "0.2");
        await SetAsync(browser, "#f-device", "cpu");
        await SetAsync(browser, "#f-register-as", "ui-submit-mlp");
        Assert.Equal("ui-submit-mlp", (await browser.EvaluateAsync("document.querySelector('#f-register-as').value")).GetString());

        // An unknown loss: the server's message under the loss field, which takes the focus; nothing is queued.
        await SetAsync(browser, "#f-compile-loss", "no_such_loss");
        await SetAsync(browser, "#f-fit-epochs", $"{Epochs}");
        await browser.EvaluateAsync("document.querySelector('#submit-form').requestSubmit()");
        await browser.WaitForAsync("document.querySelector('[data-field=\"compile.loss\"] .field-error')", Wait);
        await AssertFieldErrorAsync(browser, "compile.loss", "#f-compile-loss", "compile.loss: unknown loss 'no_such_loss'");

        // Epochs 0: the loss error goes, the epochs one appears next to its field.
        await SetAsync(browser, "#f-compile-loss", "sparse_categorical_crossentropy");
        await SetAsync(browser, "#f-fit-epochs", "0");
        await browser.EvaluateAsync("document.querySelector('#submit-form').requestSubmit()");
        await browser.WaitForAsync("document.querySelector('[data-field=\"fit.epochs\"] .field-error')", Wait);
        await AssertFieldErrorAsync(browser, "fit.epochs", "#f-fit-epochs", "fit.epochs must be in 1..100000, got 0");
        Assert.Equal(0, (await browser.EvaluateAsync("document.querySelectorAll('#submit-form .field-error').length - 1")).GetInt32());
        Assert.False((await browser.EvaluateAsync("document.querySelector('#f-compile-loss').hasAttribute('aria-invalid')")).GetBoolean());
        Assert.Equal(0, JsonDocument.Parse(await client.GetStringAsync("/v1/jobs")).RootElement.GetProperty("jobs").GetArrayLength());
        await SaveScreenshotAsync(browser, "ui-submit.png", docs: true);

        // Both viewports: the form never scrolls sideways.
        Assert.True((await browser.EvaluateAsync("document.documentElement.scrollWidth")).GetInt32() <= 1280, "the submit page scrolls sideways at 1280 px");
        await browser.SetViewportAsync(390, 844);
        await browser.WaitForAsync("document.documentElement.scrollWidth <= 390", TimeSpan.FromSeconds(5));
        await SaveScreenshotAsync(browser, "ui-submit-narrow.png", docs: false);
        await browser.SetViewportAsync(1280, 800);

        // Valid now: submitted, the browser lands on the new job's page.
        await SetAsync(browser, "#f-fit-epochs", $"{Epochs}");
        await browser.EvaluateAsync("document.querySelector('#submit-button').click()");
        await browser.WaitForAsync("location.hash.startsWith('#/jobs/job-') && document.querySelector('#chart-loss')", Wait);
        var id = (await browser.EvaluateAsync("decodeURIComponent(location.hash.slice('#/jobs/'.length))")).GetString()!;

        // The curves gain points while it trains.
        var seen = await JobPageCurves.SampleUntilDoneAsync(browser, id, TrainWait, output);
        Assert.True(seen.Distinct().Count() >= 3, $"the curves did not grow while the job trained: {string.Join(",", seen)}");

        // The job the API holds is the one the form described ...
        var job = await WaitAsync(client, id, seconds: 180);
        Assert.Equal("succeeded", job.GetProperty("state").GetString());
        var request = JsonNode.Parse(job.GetProperty("request").GetRawText())!;
        Assert.True(JsonNode.DeepEquals(spec["model"], request["model"]), "the job's model is not the mlp spec");
        Assert.Equal(datasetId, (string?)request["dataset"]);
        Assert.Equal("ui-submit-mlp", (string?)request["register_as"]);
        Assert.Equal("cpu", (string?)request["device"]);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"optimizer": "adam", "learning_rate": 0.01, "loss": "sparse_categorical_crossentropy", "metrics": ["accuracy"], "loss_weights": null}"""),
            request["compile"]), request["compile"]!.ToJsonString());
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse($$"""{"epochs": {{Epochs}}, "batch_size": 16, "validation_split": 0.2, "shuffle": true}"""), request["fit"]), request["fit"]!.ToJsonString());

        // ... and its page shows what the API holds: the history value for value, the state, the registered version.
        var expected = JobPageCurves.StoredHistory(job);
        var shown = await JobPageCurves.ShownHistoryAsync(browser);
        Assert.Equal(Epochs * 4, expected.Count); // loss, accuracy, val_loss, val_accuracy
        Assert.Equal(expected, shown);
        Assert.Equal("succeeded", (await browser.EvaluateAsync("document.querySelector('#job-state [data-state]').dataset.state")).GetString());
        Assert.Equal($"ui-submit-mlp v{job.GetProperty("registered_version").GetInt32()}",
            (await browser.EvaluateAsync("document.querySelector('#registered-link').textContent")).GetString());
        Assert.True(job.GetProperty("history")[job.GetProperty("history").GetArrayLength() - 1].GetProperty("metrics").GetProperty("accuracy").GetDouble() > 0.5, "the separable classes were not learned");

        Assert.Empty(browser.PageErrors);
    }

    /// <summary>Sets a control's value as typing would, and fires the event the page listens for.</summary>
    private static Task SetAsync(Chromium browser, string selector, string value, string eventName = "input") =>
        browser.EvaluateAsync($"(() => {{ const el = document.querySelector({JsonSerializer.Serialize(selector)}); el.value = {JsonSerializer.Serialize(value)}; " +
                              $"el.dispatchEvent(new Event({JsonSerializer.Serialize(eventName)}, {{ bubbles: true }})); return el.value; }})()");

    /// <summary>The message is the server's (equal to what POST /v1/jobs answered in errors), shown inside the field's
    /// container, tied to the control by aria-describedby and aria-invalid, and the control has the focus.</summary>
    private static async Task AssertFieldErrorAsync(Chromium browser, string field, string control, string messageStart)
    {
        var state = await browser.EvaluateAsync($$"""
            (() => {
              const c = document.querySelector('{{control}}');
              const p = document.querySelector('[data-field="{{field}}"] .field-error');
              return { text: p.textContent, described: (c.getAttribute('aria-describedby') || '').split(' ').includes(p.id),
                       invalid: c.getAttribute('aria-invalid'), focused: document.activeElement === c,
                       inside: c.closest('[data-field]') === p.closest('[data-field]') };
            })()
            """);
        Assert.StartsWith(messageStart, state.GetProperty("text").GetString());
        Assert.True(state.GetProperty("described").GetBoolean(), $"{field}: the error is not the control's description");
        Assert.Equal("true", state.GetProperty("invalid").GetString());
        Assert.True(state.GetProperty("focused").GetBoolean(), $"{field}: the control does not have the focus");
        Assert.True(state.GetProperty("inside").GetBoolean());
    }

    /// <summary>The form from the top of the page.</summary>
    private async Task SaveScreenshotAsync(Chromium browser, string name, bool docs)
    {
        await browser.EvaluateAsync("window.scrollTo(0, 0)");
        await UiScreenshots.SaveAsync(browser, name, _dir.Path, output, docs);
    }
}
