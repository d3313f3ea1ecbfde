using System.Net;
using System.Text.Json;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Hosting;

public sealed class ApiAppTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task RateLimitAnswers429WithRetryAfterButNotForHealth()
    {
        using var app = new ApiFactory(_dir.Path, new Dictionary<string, string?> { ["Neural:RateLimit:PermitLimit"] = "3", ["Neural:RateLimit:WindowSeconds"] = "60" });
        var client = app.CreateClient();
        for (var i = 0; i < 3; i++) Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);
        var limited = await client.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.True(int.Parse(limited.Headers.GetValues("Retry-After").Single()) >= 1);
        Assert.Equal("application/problem+json", limited.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v2/health/live")).StatusCode);
    }

    [Fact]
    public async Task SwaggerListsTheEndpointsWithTheirProblems()
    {
        using var app = new ApiFactory(_dir.Path);
        var client = app.CreateClient();
        var doc = JsonDocument.Parse(await client.GetStringAsync("/swagger/v1/swagger.json")).RootElement;
        var paths = doc.GetProperty("paths");
        foreach (var p in new[] { "/v2/health/ready", "/v1/models/{name}/versions", "/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer",
                     "/v1/models/{name}:predict", "/v1/jobs", "/v1/jobs/{id}/events", "/v1/datasets" })
            Assert.True(paths.TryGetProperty(p, out _), $"swagger.json lacks {p}");
        var delete = paths.GetProperty("/v1/models/{name}/versions/{version}").GetProperty("delete").GetProperty("responses");
        Assert.True(delete.TryGetProperty("409", out var conflict));
        Assert.True(conflict.GetProperty("content").TryGetProperty("application/problem+json", out _));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/swagger/index.html")).StatusCode);
    }

    [Fact]
    public async Task MetricsCorrelationIdsAndLogFiles()
    {
        using var app = new ApiFactory(_dir.Path);
        var client = app.CreateClient();
        await client.PostAsync("/v1/models/m/versions", TestModels.Octets(TestModels.DenseOnnx()));
        var onnx = TestModels.DenseOnnx();
        var body = JsonSerializer.Serialize(new { inputs = new[] { new { name = TestModels.InputName(onnx), shape = new[] { 1, 4 }, datatype = "FP32", data = new float[4] } } });
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v2/models/m/infer", TestModels.Json(body))).StatusCode);

        var metrics = await client.GetStringAsync("/metrics");
        Assert.Contains("http_requests_received_total", metrics);
        Assert.Contains("http_request_duration_seconds_bucket", metrics);
        Assert.Contains("neural_inference_requests_total{model=\"m\"}", metrics);
        Assert.Contains("neural_training_jobs{state=\"queued\"}", metrics);
        Assert.Contains("neural_batcher_requests{version=\"m/1\"} 1", metrics);
        Assert.Contains("neural_inference_request_rows_count", metrics);
        Assert.Contains("neural_batcher_queue_depth{version=\"m/1\"}", metrics);

        var tagged = new HttpRequestMessage(HttpMethod.Get, "/v2/health/live");
        tagged.Headers.Add("X-Correlation-Id", "abc-123");
        Assert.Equal("abc-123", (await client.SendAsync(tagged)).Headers.GetValues("X-Correlation-Id").Single());
        Assert.Matches("^[0-9a-f]{32}$", (await client.GetAsync("/v2/health/live")).Headers.GetValues("X-Correlation-Id").Single());
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_dir.Path, "logs"), "neural-*.log"));
    }

    [Fact]
    public async Task InProductionMalformedBodiesAreStillProblemDetails()
    {
        using var app = new ApiFactory(_dir.Path, new Dictionary<string, string?> { ["environment"] = "Production" });
        var client = app.CreateClient();
        var r = await client.PostAsync("/v1/jobs", TestModels.Json("{\"dataset\": "));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        var alias = await client.PutAsync("/v1/models/m/aliases/prod", TestModels.Json("[1]"));
        Assert.Equal(HttpStatusCode.BadRequest, alias.StatusCode);
        Assert.Equal("application/problem+json", alias.Content.Headers.ContentType!.MediaType);
    }

    [Fact]
    public void InvalidOptionsStopTheStart()
    {
        using var app = new ApiFactory(_dir.Path, new Dictionary<string, string?> { ["Neural:Storage:Provider"] = "mongodb" });
        var e = Assert.ThrowsAny<Exception>(() => app.CreateClient());
        Assert.Contains("sqlite", e.ToString());
    }
}
