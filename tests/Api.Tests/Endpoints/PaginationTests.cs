using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NeuralService.Api.Jobs;
using NeuralService.Api.Tests.Integration;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Endpoints;

/// <summary>Every list endpoint pages with <c>limit</c> and an opaque <c>page_token</c>; walking the pages yields each
/// item once, in order, and items added meanwhile are neither repeated nor skipped. Models show their latest version and
/// aliases.</summary>
public sealed class PaginationTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly KestrelApi _api;

    public PaginationTests() => _api = new KestrelApi(_dir.Path);

    public void Dispose()
    {
        _api.Dispose();
        _dir.Dispose();
    }

    /// <summary>Every page of a list: the items' <paramref name="key"/> values, and how many pages it took.</summary>
    private async Task<(List<string> Keys, int Pages)> WalkAsync(string path, string member, string key, int limit, Func<int, Task>? betweenPages = null)
    {
        var keys = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var sep = path.Contains('?', StringComparison.Ordinal) ? '&' : '?';
            var url = $"{path}{sep}limit={limit}" + (token is null ? "" : $"&page_token={Uri.EscapeDataString(token)}");
            var page = JsonDocument.Parse(await _api.Client.GetStringAsync(url)).RootElement;
            var items = page.GetProperty(member).EnumerateArray().ToList();
            Assert.True(items.Count <= limit);
            keys.AddRange(items.Select(i => i.GetProperty(key).ToString()));
            token = page.GetProperty("next_page_token").GetString();
            Assert.True(token is not null || items.Count <= limit);
            pages++;
            if (betweenPages is not null) await betweenPages(pages);
        } while (token is not null);
        return (keys, pages);
    }

    private async Task RegisterAsync(string name) =>
        Assert.Equal(HttpStatusCode.Created, (await _api.Client.PostAsync($"/v1/models/{name}/versions", TestModels.Octets(TestModels.DenseOnnx()))).StatusCode);

    [Fact]
    public async Task ModelsAndVersionsPageInOrderWithLatestVersionAndAliases()
    {
        foreach (var name in new[] { "m3", "m1", "m4", "m0", "m2", "m2", "m2" }) await RegisterAsync(name);
        Assert.Equal(HttpStatusCode.OK, (await _api.Client.PutAsync("/v1/models/m2/aliases/production", TestModels.Json("""{"version": 2}"""))).StatusCode);

        var (names, pages) = await WalkAsync("/v1/models", "models", "name", 2);
        Assert.Equal(["m0", "m1", "m2", "m3", "m4"], names);
        Assert.Equal(3, pages);

        var all = JsonDocument.Parse(await _api.Client.GetStringAsync("/v1/models")).RootElement;
        Assert.Equal(JsonValueKind.Null, all.GetProperty("next_page_token").ValueKind);
        foreach (var m in all.GetProperty("models").EnumerateArray())
            Assert.Equal(m.GetProperty("name").GetString() == "m2" ? 3 : 1, m.GetProperty("latest_version").GetInt32());
        var m2 = all.GetProperty("models").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "m2");
        Assert.Equal(2, m2.GetProperty("aliases").GetProperty("production").GetInt32());

        var (versions, versionPages) = await WalkAsync("/v1/models/m2/versions", "versions", "version", 2);
        Assert.Equal(["1", "2", "3"], versions);
        Assert.Equal(2, versionPages);
        await ProblemAssert.IsProblemAsync(await _api.Client.GetAsync("/v1/models/none/versions"), 404);
    }

    [Fact]
    public async Task JobsPageInSubmissionOrderAndNewJobsAreNeitherRepeatedNorSkipped()
    {
        var store = _api.Services.GetRequiredService<JobStore>();
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-10);
        Job Ended(int i) => new($"job-{i:D16}", JobState.Succeeded, new JobRequest(null, null, "d", null, null, null, "x"), t0.AddSeconds(i), FinishedAt: t0.AddSeconds(i));
        for (var i = 1; i <= 5; i++) store.Insert(Ended(i));

        // A job submitted while a client pages lands after what it has seen.
        var (ids, pages) = await WalkAsync("/v1/jobs", "jobs", "id", 2, page => { if (page == 1) store.Insert(Ended(6)); return Task.CompletedTask; });
        Assert.Equal(Enumerable.Range(1, 6).Select(i => $"job-{i:D16}"), ids);
        Assert.Equal(3, pages);
        Assert.Equal(6, (await WalkAsync("/v1/jobs", "jobs", "id", 1000)).Keys.Count);
    }

    [Fact]
    public async Task DatasetsPage()
    {
        var ids = new List<string>();
        foreach (var name in new[] { "c", "a", "b" })
        {
            var r = await _api.Client.PostAsync("/v1/datasets", TestModels.CsvUpload(TestModels.BlobsCsv(9), name));
            ids.Add(JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!);
        }
        var (listed, _) = await WalkAsync("/v1/datasets", "datasets", "id", 1);
        Assert.Equal(ids, listed.Where(i => i.StartsWith("ds-", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("/v1/models?limit=0", "limit")]
    [InlineData("/v1/jobs?limit=1001", "limit")]
    [InlineData("/v1/datasets?limit=-1", "limit")]
    [InlineData("/v1/models?limit=many", "limit")]
    [InlineData("/v1/models?page_token=bm90IGEgdG9rZW4", "page_token")]
    [InlineData("/v1/jobs?page_token=%25%25", "page_token")]
    public async Task BadPagingParametersAre400NamingThem(string url, string parameter)
    {
        var problem = await ProblemAssert.IsProblemAsync(await _api.Client.GetAsync(url), 400);
        Assert.Contains(parameter, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ATokenOfOneListIsRefusedByAnother()
    {
        await RegisterAsync("a");
        await RegisterAsync("b");
        var token = JsonDocument.Parse(await _api.Client.GetStringAsync("/v1/models?limit=1")).RootElement.GetProperty("next_page_token").GetString()!;
        var problem = await ProblemAssert.IsProblemAsync(await _api.Client.GetAsync($"/v1/jobs?page_token={Uri.EscapeDataString(token)}"), 400);
        Assert.Contains("page_token", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await _api.Client.GetAsync($"/v1/models?page_token={Uri.EscapeDataString(token)}")).StatusCode);
    }
}
