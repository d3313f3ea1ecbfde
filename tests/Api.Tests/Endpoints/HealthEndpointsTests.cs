using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NeuralService.Api.Hosting;
using NeuralService.Api.Tests.Support;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;

namespace NeuralService.Api.Tests.Endpoints;

public sealed class HealthEndpointsTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ApiFactory _app;

    public HealthEndpointsTests() => _app = new ApiFactory(_dir.Path);

    public void Dispose()
    {
        _app.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task TheRootLeadsToTheDashboardWhichLinksTheApiDocumentation()
    {
        var client = _app.CreateClient(new Microsoft.AspNetCore.Mvc.Testing.WebApplicationFactoryClientOptions { AllowAutoRedirect = false });
        var root = await client.GetAsync("/");
        Assert.Equal(HttpStatusCode.Redirect, root.StatusCode);
        Assert.Equal("/ui/", root.Headers.Location?.OriginalString);
        var page = await _app.CreateClient().GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("<title>NeuralService dashboard</title>", html);
        Assert.Contains("href=\"/swagger\"", html);
        // …and the API documentation links the dashboard.
        var info = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json")).RootElement.GetProperty("info");
        Assert.Contains("](/ui/)", info.GetProperty("description").GetString());
    }

    [Fact]
    public async Task LiveAndReadyAnswerWhenStorageIsReachable()
    {
        var client = _app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/health/live")).StatusCode);
        var ready = await client.GetAsync("/v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.True(JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("ready").GetBoolean());
        Assert.True(File.Exists(Path.Combine(_dir.Path, "registry.db")));
    }

    [Fact]
    public async Task ReadyIsUnavailableWhenTheDatabaseIsGone()
    {
        var client = _app.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/health/ready")).StatusCode);
        // Replace the database file with a directory: SQLite can no longer open it.
        foreach (var f in Directory.GetFiles(_dir.Path, "registry.db*")) File.Delete(f);
        Directory.CreateDirectory(Path.Combine(_dir.Path, "registry.db"));
        var ready = await client.GetAsync("/v2/health/ready");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.False(JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task ServerMetadataNamesTheBinaryExtension()
    {
        var meta = JsonDocument.Parse(await _app.CreateClient().GetStringAsync("/v2")).RootElement;
        Assert.Equal("neural-service", meta.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(meta.GetProperty("version").GetString()));
        Assert.Contains("binary_tensor_data", meta.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }
}

public sealed class PreloadTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ModelsMarkedForPreloadAreLoadedBeforeReadyAndAMissingOneKeepsItNotReady()
    {
        using (var first = new ApiFactory(_dir.Path))
        {
            var client = first.CreateClient();
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/v1/models/tagged/versions", TestModels.Octets(TestModels.DenseOnnx()))).StatusCode);
            Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/v1/models/named/versions", TestModels.Octets(TestModels.DenseOnnx()))).StatusCode);
            var registry = first.Services.GetRequiredService<ModelRegistry>();
            await registry.SetTagAsync("tagged", 1, ModelPreloader.Tag, "true");
        }

        using (var app = new ApiFactory(_dir.Path, new Dictionary<string, string?> { ["Neural:Preload:0"] = "named:latest" }))
        {
            var client = app.CreateClient();
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/health/ready")).StatusCode);
            var loaded = app.Services.GetRequiredService<InferenceEngine>().LoadedVersions;
            Assert.Contains("tagged/1", loaded);
            Assert.Contains("named/1", loaded);
        }

        using (var app = new ApiFactory(_dir.Path, new Dictionary<string, string?> { ["Neural:Preload:0"] = "missing" }))
        {
            var ready = await app.CreateClient().GetAsync("/v2/health/ready");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("missing", JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("reason").GetString());
        }
    }
}
