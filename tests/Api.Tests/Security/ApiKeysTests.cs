using System.Net;
using NeuralService.Api.Security;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Security;

public sealed class ApiKeysTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task MutatingRequestsNeedAKeyWhenKeysAreConfigured()
    {
        using var app = new ApiFactory(_dir.Path, new Dictionary<string, string?> { [ApiKeys.EnvironmentVariable] = "k1, k2" });
        var client = app.CreateClient();
        var onnx = TestModels.DenseOnnx();

        var denied = await client.PostAsync("/v1/models/m/versions", TestModels.Octets(onnx));
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);
        Assert.Equal("application/problem+json", denied.Content.Headers.ContentType!.MediaType);
        var wrong = new HttpRequestMessage(HttpMethod.Post, "/v1/models/m/versions") { Content = TestModels.Octets(onnx) };
        wrong.Headers.Add("X-Api-Key", "k3");
        Assert.Equal(HttpStatusCode.Forbidden, (await client.SendAsync(wrong)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/models/m")).StatusCode);

        var withHeader = new HttpRequestMessage(HttpMethod.Post, "/v1/models/m/versions") { Content = TestModels.Octets(onnx) };
        withHeader.Headers.Add("X-Api-Key", "k1");
        Assert.Equal(HttpStatusCode.Created, (await client.SendAsync(withHeader)).StatusCode);
        var bearer = new HttpRequestMessage(HttpMethod.Delete, "/v1/models/m");
        bearer.Headers.Authorization = new("Bearer", "k2");
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.DeleteAsync("/v1/models/m")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models/m")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await client.SendAsync(bearer)).StatusCode);
    }

    [Fact]
    public void WithoutKeysOnlyLoopbackBindingsAreAllowed()
    {
        var none = new ApiKeys([]);
        none.CheckBinding(["http://127.0.0.1:8080", "http://localhost:5000", "http://[::1]:80"]);
        var e = Assert.Throws<NeuralService.Api.Hosting.StartupRefusedException>(() => none.CheckBinding(["http://0.0.0.0:8080"]));
        Assert.Contains(ApiKeys.EnvironmentVariable, e.Message);
        Assert.Throws<NeuralService.Api.Hosting.StartupRefusedException>(() => none.CheckBinding(["http://*:80"]));
        new ApiKeys(["k"]).CheckBinding(["http://0.0.0.0:8080"]);
    }

    [Fact]
    public void TheAppRefusesToStartOnAPublicAddressWithoutKeys()
    {
        var e = Assert.Throws<NeuralService.Api.Hosting.StartupRefusedException>(() =>
            NeuralService.Api.Hosting.ApiApp.Build(["--urls", "http://0.0.0.0:18080", $"--Neural:DataDirectory={_dir.Path}"]));
        Assert.Contains("without API keys", e.Message);
        Assert.Contains("127.0.0.1", e.Message);
    }
}
