using System.Net;
using System.Text.Json;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Ui;

/// <summary>The model page's alias controls in headless Chromium: an alias set from the page, moved and removed is what
/// the API then answers; with API keys on and none entered the controls are disabled until a key is given. The page's
/// architecture summary equals the API's.</summary>
public sealed class RegistryAliasTests : IDisposable
{
    private readonly TempDir _dir = new();
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    public void Dispose() => _dir.Dispose();

    private static async Task<int?> AliasVersionAsync(HttpClient client, string alias)
    {
        var r = await client.GetAsync($"/v1/models/reg-mlp/aliases/{alias}");
        if (r.StatusCode == HttpStatusCode.NotFound) return null;
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("version").GetInt32();
    }

    private static async Task SetAliasInPageAsync(Chromium browser, string alias, int version)
    {
        await browser.EvaluateAsync($$"""
            (() => {
              document.querySelector('#alias-name').value = '{{alias}}';
              document.querySelector('#alias-version').value = '{{version}}';
              document.querySelector('#alias-form').requestSubmit();
            })()
            """);
        await browser.WaitForAsync($"document.querySelector('#alias-list li[data-alias=\"{alias}\"][data-version=\"{version}\"]')", Wait);
    }

    [SkippableFact]
    public async Task AnAliasSetMovedAndRemovedInThePageIsWhatTheApiAnswers()
    {
        Skip.IfNot(Chromium.Available, $"{Chromium.Executable} is not installed (scripts/deps.sh installs the chromium package)");
        using var api = new KestrelApi(_dir.Path);
        using var client = api.NewClient();
        for (var i = 0; i < 2; i++)
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/v1/models/reg-mlp/versions", TestModels.Octets(TestModels.DenseOnnx()))).StatusCode);

        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(api.BaseAddress, "/ui/#/models/reg-mlp").ToString());
        await browser.WaitForAsync("document.querySelector('#alias-form')", Wait);
        Assert.False((await browser.EvaluateAsync("document.querySelector('#alias-fields').disabled")).GetBoolean());
        // Without server keys the key box does not claim the page is read-only.
        await browser.WaitForAsync("document.querySelector('#key-state').textContent === 'no key needed'", Wait);
        Assert.Null(await AliasVersionAsync(client, "production"));

        await SetAliasInPageAsync(browser, "production", 1);
        Assert.Equal(1, await AliasVersionAsync(client, "production"));
        Assert.Equal("production", (await browser.EvaluateAsync("document.querySelector('#versions tr[data-version=\"1\"] [data-alias]').dataset.alias")).GetString());
        Assert.Contains("production now points at v1", (await browser.EvaluateAsync("document.querySelector('#alias-status').textContent")).GetString());

        await SetAliasInPageAsync(browser, "production", 2);
        Assert.Equal(2, await AliasVersionAsync(client, "production"));
        Assert.Equal(0, (await browser.EvaluateAsync("document.querySelectorAll('#versions tr[data-version=\"1\"] [data-alias]').length")).GetInt32());

        // A name the API refuses (a number) is shown as the API's message and changes nothing.
        await browser.EvaluateAsync("""
            document.querySelector('#alias-name').value = '12'; document.querySelector('#alias-form').requestSubmit()
            """);
        await browser.WaitForAsync("document.querySelector('#alias-status').textContent.startsWith('Not changed')", Wait);
        Assert.False((await browser.EvaluateAsync("document.querySelector('#alert').hidden")).GetBoolean());
        Assert.Null(await AliasVersionAsync(client, "12"));

        await browser.EvaluateAsync("document.querySelector('.alias-remove[data-alias=\"production\"]').click()");
        await browser.WaitForAsync("!document.querySelector('#alias-list li[data-alias=\"production\"]')", Wait);
        Assert.Null(await AliasVersionAsync(client, "production"));

        // The architecture shown is the API's summary of the version shown (an upload: read off its ONNX graph).
        var summary = JsonDocument.Parse(await client.GetStringAsync("/v1/models/reg-mlp/versions/2/summary")).RootElement;
        Assert.Equal(summary.GetProperty("source").GetString(), (await browser.EvaluateAsync("document.querySelector('#summary').dataset.source")).GetString());
        Assert.Equal(summary.GetProperty("total_params").GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture),
            (await browser.EvaluateAsync("document.querySelector('#total-params').dataset.value")).GetString());
        var rows = (await browser.EvaluateAsync("[...document.querySelectorAll('#summary tbody tr')].map(tr => tr.dataset.layer + '|' + tr.dataset.params)"))
            .EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(summary.GetProperty("layers").EnumerateArray().Select(l => $"{l.GetProperty("name").GetString()}|{l.GetProperty("params").GetInt64()}"), rows);
        Assert.Empty(browser.PageErrors);
    }

    [SkippableFact]
    public async Task WithKeysOnTheControlsWaitForAKey()
    {
        Skip.IfNot(Chromium.Available, $"{Chromium.Executable} is not installed (scripts/deps.sh installs the chromium package)");
        using var api = new KestrelApi(_dir.Path, new Dictionary<string, string?> { ["NEURAL_API_KEYS"] = "reg-secret" });
        using var client = api.NewClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", "reg-secret");
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/v1/models/reg-mlp/versions", TestModels.Octets(TestModels.DenseOnnx()))).StatusCode);
        Assert.True((await client.PutAsync("/v1/models/reg-mlp/aliases/staging", TestModels.Json("""{"version": 1}"""))).IsSuccessStatusCode);

        await using var browser = await Chromium.StartAsync();
        await browser.NavigateAsync(new Uri(api.BaseAddress, "/ui/#/models/reg-mlp").ToString());
        await browser.WaitForAsync("document.querySelector('#alias-form')", Wait);
        Assert.True((await browser.EvaluateAsync("document.querySelector('#alias-fields').disabled")).GetBoolean());
        Assert.False((await browser.EvaluateAsync("document.querySelector('#alias-readonly').hidden")).GetBoolean());
        Assert.True((await browser.EvaluateAsync("document.querySelector('.alias-remove').hidden")).GetBoolean());

        await browser.EvaluateAsync("""
            document.querySelector('#api-key').value = 'reg-secret'; document.querySelector('#key-form').requestSubmit()
            """);
        await browser.WaitForAsync("!document.querySelector('#alias-fields').disabled", Wait);
        Assert.True((await browser.EvaluateAsync("document.querySelector('#alias-readonly').hidden")).GetBoolean());
        await SetAliasInPageAsync(browser, "production", 1);
        Assert.Equal(1, await AliasVersionAsync(client, "production"));
        Assert.Empty(browser.PageErrors);
    }
}
