using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralService.Api.Tests.Support;
using SkiaSharp;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Ui;

/// <summary>The model page's "Try it" in headless Chromium. An image classifier trained here on Fashion-MNIST: a dataset
/// sample picked in the page, and an image file given to its file input (DOM.setFileInputFiles), show the same top-k
/// classes and probabilities as :predict answers for those pixels. A model without an image input: the JSON editor's
/// request, prefilled from the signature, answers what /v2 …/infer answers, and its errors are shown.</summary>
public sealed class TryItTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    public void Dispose() => _dir.Dispose();

    private const string ImageModel = """
        {"class_name": "Sequential", "config": {"name": "fm_try", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 28, 28, 1], "name": "image"}},
          {"class_name": "Flatten", "config": {"name": "flat"}},
          {"class_name": "Dense", "config": {"units": 10, "activation": "softmax", "name": "probs"}}]}}
        """;

    /// <summary>The 28×28×1 instance :predict takes for 784 row-major pixel values.</summary>
    private static JsonArray Instance(IReadOnlyList<double> pixels) =>
        new(Enumerable.Range(0, 28).Select(r => (JsonNode?)new JsonArray(Enumerable.Range(0, 28)
            .Select(c => (JsonNode?)new JsonArray(JsonValue.Create(pixels[r * 28 + c]))).ToArray())).ToArray());

    private static async Task<List<(int Class, double P)>> PredictAsync(HttpClient client, IReadOnlyList<double> pixels)
    {
        var r = await client.PostAsJsonAsync("/v1/models/fm-try/versions/1:predict?top_k=5", new JsonObject { ["instances"] = new JsonArray(Instance(pixels)) });
        Assert.True(r.IsSuccessStatusCode, await r.Content.ReadAsStringAsync());
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("top_k")[0].EnumerateArray()
            .Select(c => (c.GetProperty("class").GetInt32(), c.GetProperty("probability").GetDouble())).ToList();
    }

    private static async Task<List<(int Class, double P)>> TopKShownAsync(Chromium browser) =>
        (await browser.EvaluateAsync("[...document.querySelectorAll('#topk tr[data-class]')].map(tr => [Number(tr.dataset.class), Number(tr.dataset.probability)])"))
        .EnumerateArray().Select(e => (e[0].GetInt32(), e[1].GetDouble())).ToList();

    private static void AssertSameTopK(List<(int Class, double P)> api, List<(int Class, double P)> page)
    {
        Assert.Equal(5, page.Count);
        Assert.Equal(api.Select(c => c.Class), page.Select(c => c.Class));
        Assert.Equal(api.Select(c => c.P), page.Select(c => c.P), (a, b) => Math.Abs(a - b) < 1e-9);
    }

    /// <summary>Waits until the try-it panel has finished a request started by the page (its state leaves 'running').</summary>
    private static async Task ResetAndAwaitAsync(Chromium browser, string box, Func<Task> act)
    {
        await browser.EvaluateAsync($"document.querySelector('{box}').dataset.state = 'idle'");
        await act();
        await browser.WaitForAsync($"['done', 'error'].includes(document.querySelector('{box}').dataset.state)", Wait);
    }

    private string Png(string name, int size, Func<int, int, byte> gray)
    {
        using var bitmap = new SKBitmap(size, size, SKColorType.Rgba8888, SKAlphaType.Opaque);
        for (var y = 0; y < size; y++)
            for (var x = 0; x < size; x++)
            {
                var g = gray(x, y);
                bitmap.SetPixel(x, y, new SKColor(g, g, g));
            }
        var path = Path.Combine(_dir.Path, name);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
        return path;
    }

    [SkippableFact]
    public async Task ASampleAndAnImageFileShowTheTopKThatPredictAnswers()
    {
        Skip.IfNot(Chromium.Available, $"{Chromium.Executable} is not installed (scripts/deps.sh installs the chromium package)");
        using var api = new KestrelApi(_dir.Path, new Dictionary<string, string?> { ["Neural:Workers"] = "1" });
        using var client = api.NewClient();
        var job = await SubmitAsync(client, new
        {
            model = JsonDocument.Parse(ImageModel).RootElement,
            dataset = "fashion-mnist:test",
            compile = new { optimizer = "adam", learning_rate = 0.01, loss = "sparse_categorical_crossentropy", metrics = new[] { "accuracy" } },
            fit = new { epochs = 1, batch_size = 250 },
            device = "cpu",
            register_as = "fm-try",
        });
        var done = await WaitAsync(client, job.GetProperty("id").GetString()!);
        Assert.True(done.GetProperty("state").GetString() == "succeeded", done.ToString());
        var version = JsonDocument.Parse(await client.GetStringAsync("/v1/models/fm-try/versions/1")).RootElement;
        // The page sends raw 0–255 pixels because the graph scales them itself.
        Assert.True(version.GetProperty("preprocessing").GetProperty("folded").GetBoolean());

        Assert.True((await client.PutAsJsonAsync("/v1/models/fm-try/aliases/production", new { version = 1 })).IsSuccessStatusCode);

        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(api.BaseAddress, "/ui/#/models/fm-try").ToString());
        await browser.WaitForAsync("document.querySelector('#sample-dataset')?.dataset.loaded === 'true'", Wait);
        Assert.Equal("fashion-mnist:test", (await browser.EvaluateAsync("document.querySelector('#sample-dataset').value")).GetString());
        Assert.Equal("keras_config", (await browser.EvaluateAsync("document.querySelector('#summary').dataset.source")).GetString());
        Assert.Equal(7850, (await browser.EvaluateAsync("Number(document.querySelector('#total-params').dataset.value)")).GetInt32());

        // A dataset sample: the page's top 5 are :predict's for the sample's pixels, and its label is the dataset's.
        const int index = 123;
        await ResetAndAwaitAsync(browser, "#tryit-result", () => browser.EvaluateAsync(
            $"document.querySelector('#sample-index').value = '{index}'; document.querySelector('#sample-show').click()"));
        var sample = JsonDocument.Parse(await client.GetStringAsync($"/v1/datasets/fashion-mnist:test/samples/{index}")).RootElement;
        var pixels = sample.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToList();
        var shown = await TopKShownAsync(browser);
        AssertSameTopK(await PredictAsync(client, pixels), shown);
        Assert.Equal(sample.GetProperty("label_name").GetString(), (await browser.EvaluateAsync("document.querySelector('#sample-label').textContent")).GetString());
        var names = version.GetProperty("preprocessing").GetProperty("outputs").EnumerateObject().Single().Value.GetProperty("class_names");
        Assert.Contains(names[shown[0].Class].GetString()!, (await browser.EvaluateAsync("document.querySelector('#topk tbody tr').textContent")).GetString());
        output.WriteLine($"sample {index} ({sample.GetProperty("label_name")}): page top-5 {string.Join(", ", shown.Select(c => $"{c.Class}:{c.P:0.0000}"))}");

        // An image file of another sample, 28×28 gray: decoded in the page to the same pixels, so the same answer.
        var other = JsonDocument.Parse(await client.GetStringAsync("/v1/datasets/fashion-mnist:test/samples/42")).RootElement
            .GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToList();
        var png = Png("sample-42.png", 28, (x, y) => (byte)other[y * 28 + x]);
        await ResetAndAwaitAsync(browser, "#tryit-result", () => browser.SetFileInputFilesAsync("#tryit-file", png));
        Assert.Equal("done", (await browser.EvaluateAsync("document.querySelector('#tryit-result').dataset.state")).GetString());
        AssertSameTopK(await PredictAsync(client, other), await TopKShownAsync(browser));
        Assert.Contains("sample-42.png", (await browser.EvaluateAsync("document.querySelector('#tryit-what').textContent")).GetString());
        await UiScreenshots.SaveFullPageAsync(browser, "ui-model.png", _dir.Path, output);

        // A larger image is resized to the input's 28×28; the preview shows what was sent.
        var big = Png("big.png", 84, (x, y) => (byte)other[y / 3 * 28 + x / 3]);
        await ResetAndAwaitAsync(browser, "#tryit-result", () => browser.SetFileInputFilesAsync("#tryit-file", big));
        Assert.Equal("28x28", (await browser.EvaluateAsync("(c => c.width + 'x' + c.height)(document.querySelector('#tryit-preview'))")).GetString());
        Assert.Equal(5, (await TopKShownAsync(browser)).Count);

        // A file that is no image: a clear error, no stale answer.
        var junk = Path.Combine(_dir.Path, "notes.png");
        await File.WriteAllTextAsync(junk, "not an image");
        await ResetAndAwaitAsync(browser, "#tryit-result", () => browser.SetFileInputFilesAsync("#tryit-file", junk));
        Assert.Equal("error", (await browser.EvaluateAsync("document.querySelector('#tryit-result').dataset.state")).GetString());
        Assert.Contains("notes.png could not be decoded", (await browser.EvaluateAsync("document.querySelector('#tryit-error').textContent")).GetString());

        // A phone: the page does not scroll sideways.
        await browser.SetViewportAsync(390, 844);
        await browser.ReloadAsync(Wait);
        await browser.WaitForAsync("document.querySelector('#sample-dataset')?.dataset.loaded === 'true'", Wait);
        var wide = (await browser.EvaluateAsync("""
            [...document.querySelectorAll('main *')].filter(e => !e.closest('.table-wrap') && e.getBoundingClientRect().right > 390)
              .map(e => e.tagName + (e.id ? '#' + e.id : '')).slice(0, 5).join(', ')
            """)).GetString();
        Assert.True((await browser.EvaluateAsync("document.documentElement.scrollWidth")).GetInt32() <= 390, $"the model page scrolls sideways at 390 px: {wide}");
        await UiScreenshots.SaveFullPageAsync(browser, "ui-model-narrow.png", _dir.Path, output, 390);
        Assert.Empty(browser.PageErrors);
    }

    [SkippableFact]
    public async Task TheJsonEditorRunsAKserveRequestAndShowsItsErrors()
    {
        Skip.IfNot(Chromium.Available, $"{Chromium.Executable} is not installed (scripts/deps.sh installs the chromium package)");
        using var api = new KestrelApi(_dir.Path);
        using var client = api.NewClient();
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/v1/models/plain-mlp/versions", TestModels.Octets(TestModels.DenseOnnx()))).StatusCode);

        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(api.BaseAddress, "/ui/#/models/plain-mlp").ToString());
        await browser.WaitForAsync("document.querySelector('#tryit-json')", Wait);
        Assert.Equal(0, (await browser.EvaluateAsync("document.querySelectorAll('#sample-dataset, #tryit-file').length")).GetInt32());

        // Prefilled from the signature: the input's name and type, zeros, the open batch dim as 1.
        var prefilled = JsonNode.Parse((await browser.EvaluateAsync("document.querySelector('#tryit-json').value")).GetString()!)!;
        var input = prefilled["inputs"]![0]!;
        var signature = JsonDocument.Parse(await client.GetStringAsync("/v1/models/plain-mlp/versions/1")).RootElement.GetProperty("inputs")[0];
        Assert.Equal(signature.GetProperty("name").GetString(), input["name"]!.GetValue<string>());
        Assert.Equal("FP32", input["datatype"]!.GetValue<string>());
        Assert.Equal([1, 4], input["shape"]!.AsArray().Select(d => d!.GetValue<int>()));
        Assert.Equal([0, 0, 0, 0], input["data"]!.AsArray().Select(d => d!.GetValue<double>()));

        input["shape"] = new JsonArray(2, 4);
        input["data"] = new JsonArray(0.5, 3.2, 0.1, 0.2, 0.1, 0.3, 3.4, 0.2);
        var request = prefilled.ToJsonString();
        await ResetAndAwaitAsync(browser, "#tryit-outputs-box", () => browser.EvaluateAsync(
            $"document.querySelector('#tryit-json').value = {JsonSerializer.Serialize(request)}; document.querySelector('#tryit-json-form').requestSubmit()"));
        var page = JsonNode.Parse((await browser.EvaluateAsync("document.querySelector('#tryit-response').textContent")).GetString()!)!;
        var answer = await client.PostAsync("/v2/models/plain-mlp/versions/1/infer", TestModels.Json(request));
        var expected = JsonNode.Parse(await answer.Content.ReadAsStringAsync())!;
        Assert.True(JsonNode.DeepEquals(expected["outputs"], page["outputs"]), $"page {page["outputs"]} vs API {expected["outputs"]}");
        Assert.Equal(expected["outputs"]![0]!["name"]!.GetValue<string>(), (await browser.EvaluateAsync("document.querySelector('#tryit-outputs tr[data-output]').dataset.output")).GetString());

        // Not JSON: said so, nothing sent. A shape the model refuses: the API's problem detail.
        await ResetAndAwaitAsync(browser, "#tryit-outputs-box", () => browser.EvaluateAsync(
            "document.querySelector('#tryit-json').value = '{\"inputs\": ['; document.querySelector('#tryit-json-form').requestSubmit()"));
        Assert.StartsWith("The request is not valid JSON", (await browser.EvaluateAsync("document.querySelector('#tryit-error').textContent")).GetString());
        input["data"] = new JsonArray(1, 2, 3);
        var bad = prefilled.ToJsonString();
        var apiError = JsonDocument.Parse(await (await client.PostAsync("/v2/models/plain-mlp/versions/1/infer", TestModels.Json(bad))).Content.ReadAsStringAsync())
            .RootElement.GetProperty("detail").GetString()!;
        await ResetAndAwaitAsync(browser, "#tryit-outputs-box", () => browser.EvaluateAsync(
            $"document.querySelector('#tryit-json').value = {JsonSerializer.Serialize(bad)}; document.querySelector('#tryit-json-form').requestSubmit()"));
        Assert.Equal("error", (await browser.EvaluateAsync("document.querySelector('#tryit-outputs-box').dataset.state")).GetString());
        Assert.Equal($"HTTP 400: {apiError}", (await browser.EvaluateAsync("document.querySelector('#tryit-error').textContent")).GetString());
        Assert.False((await browser.EvaluateAsync("document.querySelector('#tryit-error').hidden")).GetBoolean());
        Assert.Empty(browser.PageErrors);
    }
}
