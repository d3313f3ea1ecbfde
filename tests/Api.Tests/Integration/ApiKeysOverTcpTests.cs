using System.Net;
using System.Text.Json;
using NeuralService.Api.Security;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Integration;

/// <summary>The service with <c>NEURAL_API_KEYS=k1,k2</c>.</summary>
public sealed class KeyedService : IDisposable
{
    public ServedModel S { get; } = new(new Dictionary<string, string?> { [ApiKeys.EnvironmentVariable] = "k1,k2" }, apiKey: "k1");
    public void Dispose() => S.Dispose();
}

/// <summary>With API keys configured every mutating request needs one: without one it is 401 with
/// <c>WWW-Authenticate: Bearer</c>, with a key the server does not have it is 403.
/// Reads and inference (a POST that changes nothing) need no key.</summary>
public sealed class ApiKeysOverTcpTests(KeyedService keyed) : IClassFixture<KeyedService>
{
    private readonly ServedModel _s = keyed.S;

    public static TheoryData<string, string, string?> Mutations => new()
    {
        { "POST", "/v1/jobs", """{"dataset": "blobs-small", "register_as": "x"}""" },
        { "POST", "/v1/models/intruder/versions", "onnx" },
        { "PUT", "/v1/models/mlp/aliases/production", """{"version": 1}""" },
        { "DELETE", "/v1/models/mlp/aliases/production", null },
        { "DELETE", "/v1/models/mlp?force=true", null },
        { "DELETE", "/v1/datasets/blobs-small", null },
        { "POST", "/v1/datasets", "multipart" },
        { "POST", "/v1/jobs/job-none/cancel", null },
    };

    [Theory]
    [MemberData(nameof(Mutations))]
    public async Task MutationsWithoutAKeyAre401WithAWrongOne403AndChangeNothing(string method, string path, string? body)
    {
        var before = await _s.SnapshotAsync();
        foreach (var key in new[] { null, "X-Api-Key: wrong", "Bearer wrong", "Bearer ", "X-Api-Key: k1,k2", "Bearer k1x" })
        {
            using var client = _s.Api.NewClient();
            var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = Body(body) };
            if (key?.StartsWith("Bearer", StringComparison.Ordinal) == true) request.Headers.TryAddWithoutValidation("Authorization", key);
            else if (key is not null) request.Headers.Add("X-Api-Key", key["X-Api-Key: ".Length..]);
            var r = await client.SendAsync(request);
            if (key is null or "Bearer ")
            {
                await ProblemAssert.IsProblemAsync(r, 401);
                Assert.Equal("Bearer", r.Headers.WwwAuthenticate.Single().Scheme);
            }
            else
            {
                await ProblemAssert.IsProblemAsync(r, 403);
                Assert.Empty(r.Headers.WwwAuthenticate);
            }
        }
        before.AssertSame(await _s.SnapshotAsync());
    }

    [Fact]
    public async Task EitherKeyInEitherHeaderPassesTheCheck()
    {
        // A job on a missing dataset: past the key check, refused for its own reason (404), so nothing is stored.
        foreach (var (header, value) in new[] { ("X-Api-Key", "k1"), ("X-Api-Key", "k2"), ("Authorization", "Bearer k2"), ("Authorization", "bearer k1") })
        {
            using var client = _s.Api.NewClient();
            var request = new HttpRequestMessage(HttpMethod.Post, "/v1/jobs") { Content = TestModels.Json("""{"model": {}, "dataset": "none", "register_as": "x"}""") };
            request.Headers.TryAddWithoutValidation(header, value);
            var r = await client.SendAsync(request);
            Assert.NotEqual(HttpStatusCode.Unauthorized, r.StatusCode);
            Assert.NotEqual(HttpStatusCode.Forbidden, r.StatusCode);
            await ProblemAssert.IsProblemAsync(r, 400, 404, 422);
        }
    }

    [Fact]
    public async Task ReadsAndInferenceNeedNoKey()
    {
        using var client = _s.Api.NewClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/v1/models/mlp/versions/production")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v2/models/mlp/versions/production/infer", TestModels.Json(_s.InferJson([1, 2, 3, 4], 1)))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/v1/models/mlp:predict", TestModels.Json("""{"instances": [[1, 2, 3, 4]]}"""))).StatusCode);
        var health = JsonDocument.Parse(await client.GetStringAsync("/v2/health/ready")).RootElement;
        Assert.True(health.GetProperty("ready").GetBoolean());
    }

    private static HttpContent? Body(string? body) => body switch
    {
        null => null,
        "multipart" => TestModels.CsvUpload(TestModels.BlobsCsv(9), "intruder"),
        "onnx" => TestModels.Octets(TestModels.DenseOnnx()),
        _ => TestModels.Json(body),
    };
}
