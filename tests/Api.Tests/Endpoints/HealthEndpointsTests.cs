using System.Net;
using System.Text.Json;
using NeuralService.Api.Tests.Support;

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
