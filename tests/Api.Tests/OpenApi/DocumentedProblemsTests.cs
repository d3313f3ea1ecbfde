using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using NeuralService.Api.Security;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.OpenApi;

/// <summary>The errors the server really answers are the documented ones, as problem details: provoked over HTTP,
/// each status must be listed under that operation in the served document.</summary>
public sealed class DocumentedProblemsTests(OpenApiFixture fx) : IClassFixture<OpenApiFixture>, IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ProvokedErrorsAreDocumentedProblems()
    {
        using var app = new ApiFactory(_dir.Path, new Dictionary<string, string?>
        {
            [ApiKeys.EnvironmentVariable] = "k1",
            ["Neural:Limits:MaxRequestBytes"] = "1024",
        });
        var client = app.CreateClient();

        await AssertDocumented(client, Send(HttpMethod.Delete, "/v1/models/m"), 401, "DELETE", "/v1/models/{name}");
        var wrongKey = Send(HttpMethod.Delete, "/v1/models/m");
        wrongKey.Headers.Add("X-Api-Key", "not-a-key");
        await AssertDocumented(client, wrongKey, 403, "DELETE", "/v1/models/{name}");
        await AssertDocumented(client, Send(HttpMethod.Put, "/v1/models/m/aliases/prod", "1", "text/plain"), 415, "PUT", "/v1/models/{name}/aliases/{alias}");
        await AssertDocumented(client, Send(HttpMethod.Put, "/v1/models/m/aliases/prod", """{"version": 1}"""), 404, "PUT", "/v1/models/{name}/aliases/{alias}");
        await AssertDocumented(client, Send(HttpMethod.Post, "/v1/jobs", """{"dataset": """), 400, "POST", "/v1/jobs");
        await AssertDocumented(client, Send(HttpMethod.Post, "/v1/jobs/nope/cancel"), 404, "POST", "/v1/jobs/{id}/cancel");
        await AssertDocumented(client, Send(HttpMethod.Post, "/v1/datasets", "{}"), 415, "POST", "/v1/datasets");
        await AssertDocumented(client, Send(HttpMethod.Post, "/v2/models/m/infer", "1", "text/plain"), 415, "POST", "/v2/models/{name}/infer");
        await AssertDocumented(client, Send(HttpMethod.Delete, "/v1/datasets/fashion-mnist"), 409, "DELETE", "/v1/datasets/{id}");
        await AssertDocumented(client, Send(HttpMethod.Get, "/v1/models/m/versions/1"), 404, "GET", "/v1/models/{name}/versions/{version}");
        await AssertDocumented(client, Send(HttpMethod.Post, "/v2/models/m/infer", new string(' ', 2048)), 413, "POST", "/v2/models/{name}/infer");
        await AssertDocumented(client, Send(HttpMethod.Post, "/v2/models/m/infer", """{"inputs": 1}"""), 400, "POST", "/v2/models/{name}/infer");
        await AssertDocumented(client, Send(HttpMethod.Post, "/v1/models/m:predict", """{"instances": [[1, 2, 3, 4]]}"""), 404, "POST", "/v1/models/{name}:predict");
    }

    [Fact]
    public async Task RateLimitedRequestsAreDocumentedProblems()
    {
        using var app = new ApiFactory(_dir.Path, new Dictionary<string, string?> { ["Neural:RateLimit:PermitLimit"] = "1", ["Neural:RateLimit:WindowSeconds"] = "60" });
        var client = app.CreateClient();
        Assert.Equal(System.Net.HttpStatusCode.OK, (await client.GetAsync("/v1/models")).StatusCode);
        var response = await AssertDocumented(client, Send(HttpMethod.Get, "/v1/models"), 429, "GET", "/v1/models");
        Assert.True(response.Headers.RetryAfter is not null, "429 without Retry-After");
    }

    private static HttpRequestMessage Send(HttpMethod method, string url, string? body = null, string type = "application/json")
    {
        var request = new HttpRequestMessage(method, url);
        if (body is not null) request.Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue(type));
        // Every request but the first of ProvokedErrors carries the key: the error must come from the handler itself.
        if (method != HttpMethod.Delete || url != "/v1/models/m") request.Headers.Add("X-Api-Key", "k1");
        return request;
    }

    private async Task<HttpResponseMessage> AssertDocumented(HttpClient client, HttpRequestMessage request, int status, string method, string path)
    {
        var what = $"{request.Method} {request.RequestUri}";
        var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == (int)response.StatusCode, $"{what}: {(int)response.StatusCode} {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(status, (int?)JsonNode.Parse(text)!["status"]);
        var documented = fx.Document["paths"]![path]![method.ToLowerInvariant()]!["responses"]!.AsObject();
        Assert.True(documented.ContainsKey(status.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            $"{what} answered {status}, which {method} {path} does not document ({string.Join(", ", documented.Select(d => d.Key))})");
        return response;
    }
}
