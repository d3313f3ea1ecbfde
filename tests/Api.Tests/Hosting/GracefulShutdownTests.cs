using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Hosting;

public sealed class GracefulShutdownTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task StoppingFinishesTheRequestInFlightThenRefusesNewConnections()
    {
        using var api = new KestrelApi(_dir.Path);
        using var client = api.NewClient();
        var onnx = TestModels.DenseOnnx();
        var release = new TaskCompletionSource();
        var halfSent = new TaskCompletionSource();
        var content = new HalfThenRestContent(onnx, release.Task, halfSent);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var upload = client.PostAsync("/v1/models/drained/versions", content);
        await halfSent.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var lifetime = api.Services.GetRequiredService<IHostApplicationLifetime>();
        lifetime.StopApplication();
        await Task.Delay(300); // the server is now stopping, with the upload still half sent
        release.SetResult();

        var response = await upload.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.True(File.Exists(Path.Combine(_dir.Path, "registry.db")));

        await Task.Delay(500);
        using var fresh = api.NewClient(TimeSpan.FromSeconds(5));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => fresh.GetAsync("/v2/health/live"));
    }
}
