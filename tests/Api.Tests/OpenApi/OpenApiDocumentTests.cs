using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using NeuralService.Api.Security;

namespace NeuralService.Api.Tests.OpenApi;

/// <summary>Every operation of the served document is documented: summary, bodies with schema and example, the
/// success response, and each problem the middleware can answer with, as <c>application/problem+json</c> with an
/// example. The rules are derived from the app's own endpoints, so a new endpoint without docs fails here.</summary>
public sealed class OpenApiDocumentTests(OpenApiFixture fx) : IClassFixture<OpenApiFixture>
{
    private const string ProblemJson = "application/problem+json";

    /// <summary>Error responses whose body is not a problem: the readiness probe answers 503 with its own payload.</summary>
    private static readonly HashSet<(string, string, string)> NonProblemErrors = [("GET", "/v2/health/ready", "503")];

    [Fact]
    public void EveryAppEndpointIsInTheDocument()
    {
        var documented = fx.Operations().Select(o => (o.Method, o.Path)).ToHashSet();
        // Not API operations: Prometheus's scrape target, the documentation itself and "/" (a redirect to it).
        var routes = AppRoutes().Where(r => r.Path is not ("/metrics" or "/") && !r.Path.StartsWith("/swagger", StringComparison.Ordinal)).ToList();
        Assert.True(routes.Count >= 28, $"only {routes.Count} routes found");
        foreach (var (method, path, _) in routes) Assert.Contains((method, path), documented);
        Assert.Equal(routes.Count, documented.Count);
    }

    [Fact]
    public void EveryOperationHasAnIdAndASummary()
    {
        foreach (var (method, path, op) in fx.Operations())
        {
            Assert.False(string.IsNullOrWhiteSpace((string?)op["operationId"]), $"{method} {path}: no operationId");
            Assert.False(string.IsNullOrWhiteSpace((string?)op["summary"]), $"{method} {path}: no summary");
            Assert.NotNull(op["tags"]);
        }
    }

    [Fact]
    public void EveryOperationListsTheProblemsTheMiddlewareCanAnswer()
    {
        var readOnly = AppRoutes().Where(r => r.ReadOnly).Select(r => (r.Method, r.Path)).ToHashSet();
        foreach (var (method, path, op) in fx.Operations())
        {
            var responses = op["responses"]!.AsObject();
            var what = $"{method} {path}";
            Assert.True(responses.ContainsKey("500"), $"{what}: no 500");
            var mutating = method is not ("GET" or "HEAD" or "OPTIONS") && !readOnly.Contains((method, path));
            Assert.True(mutating == responses.ContainsKey("401"), $"{what}: 401 documented {responses.ContainsKey("401")}, needs a key {mutating}");
            Assert.True(mutating == responses.ContainsKey("403"), $"{what}: 403 documented {responses.ContainsKey("403")}, needs a key {mutating}");
            Assert.True(mutating == op.ContainsKey("security"), $"{what}: security {op.ContainsKey("security")}, needs a key {mutating}");
            Assert.True(path.StartsWith("/v2/health", StringComparison.Ordinal) != responses.ContainsKey("429"), $"{what}: rate limit 429");
            if (op.ContainsKey("requestBody"))
            {
                Assert.True(responses.ContainsKey("400"), $"{what}: a body but no 400");
                Assert.True(responses.ContainsKey("413"), $"{what}: a body but no 413");
                Assert.True(responses.ContainsKey("415"), $"{what}: a body but no 415");
            }
        }
    }

    [Fact]
    public void EveryErrorResponseIsAProblemWithAnExample()
    {
        var checkedCount = 0;
        foreach (var (method, path, op) in fx.Operations())
        {
            foreach (var (code, response) in op["responses"]!.AsObject())
            {
                if (int.Parse(code, System.Globalization.CultureInfo.InvariantCulture) < 400 || NonProblemErrors.Contains((method, path, code))) continue;
                var what = $"{method} {path} {code}";
                var content = response!["content"]?.AsObject();
                Assert.True(content is not null && content.Count == 1 && content.ContainsKey(ProblemJson), $"{what}: not only {ProblemJson}");
                var media = content![ProblemJson]!;
                Assert.Equal("#/components/schemas/ProblemDetails", (string?)media["schema"]!["$ref"]);
                Assert.Equal(int.Parse(code, System.Globalization.CultureInfo.InvariantCulture), (int?)media["example"]?["status"]);
                Assert.False(string.IsNullOrWhiteSpace((string?)media["example"]!["title"]), $"{what}: example without title");
                Assert.False(string.IsNullOrWhiteSpace((string?)response["description"]), $"{what}: no description");
                checkedCount++;
            }
        }
        Assert.True(checkedCount > 100, $"only {checkedCount} problem responses");
        Assert.Contains("Retry-After", fx.Document["paths"]!["/v1/models"]!["get"]!["responses"]!["429"]!["headers"]!.AsObject().Select(h => h.Key));
    }

    [Fact]
    public void EverySuccessAndRequestBodyHasASchemaAndAnExample()
    {
        foreach (var (method, path, op) in fx.Operations())
        {
            var successes = op["responses"]!.AsObject().Where(r => r.Key.StartsWith('2')).ToList();
            Assert.True(successes.Count > 0, $"{method} {path}: no success response");
            foreach (var (code, response) in successes)
            {
                if (code == "204") { Assert.Null(response!["content"]); continue; }
                var content = response!["content"]?.AsObject();
                Assert.True(content is { Count: > 0 }, $"{method} {path} {code}: no content");
                foreach (var (type, media) in content!) AssertDescribed($"{method} {path} {code} {type}", type, media!.AsObject());
            }
            if (op["requestBody"]?["content"]?.AsObject() is { } body)
                foreach (var (type, media) in body) AssertDescribed($"{method} {path} request {type}", type, media!.AsObject());
        }
    }

    [Fact]
    public void MutatingEndpointsDeclareBothApiKeySchemes()
    {
        var schemes = fx.Document["components"]!["securitySchemes"]!;
        Assert.Equal("apiKey", (string?)schemes["ApiKey"]!["type"]);
        Assert.Equal("header", (string?)schemes["ApiKey"]!["in"]);
        Assert.Equal("X-Api-Key", (string?)schemes["ApiKey"]!["name"]);
        Assert.Equal("http", (string?)schemes["Bearer"]!["type"]);
        Assert.Equal("bearer", (string?)schemes["Bearer"]!["scheme"]);
        var upload = fx.Document["paths"]!["/v1/models/{name}/versions"]!["post"]!["security"]!.AsArray();
        Assert.Equal(["ApiKey", "Bearer"], upload.Select(r => r!.AsObject().Single().Key));
        Assert.Null(fx.Document["paths"]!["/v2/models/{name}/infer"]!["post"]!["security"]);
    }

    [Fact]
    public void InferDescribesTheBinaryTensorExtension()
    {
        foreach (var path in new[] { "/v2/models/{name}/infer", "/v2/models/{name}/versions/{version}/infer" })
        {
            var op = fx.Document["paths"]![path]!["post"]!;
            var header = op["parameters"]!.AsArray().Single(p => (string?)p!["name"] == "Inference-Header-Content-Length")!;
            Assert.Equal("header", (string?)header["in"]);
            Assert.Equal("integer", (string?)header["schema"]!["type"]);
            var request = op["requestBody"]!["content"]!;
            Assert.Equal("#/components/schemas/InferenceRequest", (string?)request["application/json"]!["schema"]!["$ref"]);
            Assert.Equal("binary", (string?)request["application/octet-stream"]!["schema"]!["format"]);
            Assert.Contains("Inference-Header-Content-Length", (string?)request["application/octet-stream"]!["schema"]!["description"]);
            var ok = op["responses"]!["200"]!;
            Assert.Equal("#/components/schemas/InferenceResponse", (string?)ok["content"]!["application/json"]!["schema"]!["$ref"]);
            Assert.Equal("binary", (string?)ok["content"]!["application/octet-stream"]!["schema"]!["format"]);
            Assert.NotNull(ok["headers"]!["Inference-Header-Content-Length"]);
        }
        var input = fx.Document["components"]!["schemas"]!["InputParameters"]!["properties"]!;
        Assert.NotNull(input["binary_data_size"]);
    }

    [Fact]
    public void UploadsDescribeTheirMultipartForms()
    {
        var dataset = fx.Document["paths"]!["/v1/datasets"]!["post"]!["requestBody"]!["content"]!["multipart/form-data"]!;
        var fields = dataset["schema"]!["properties"]!.AsObject();
        Assert.Equal(["file", "labels", "name", "format", "label_column", "label_index", "label_type", "features_key", "labels_key", "header"], fields.Select(f => f.Key));
        Assert.Equal("binary", (string?)fields["file"]!["format"]);
        Assert.Equal("integer", (string?)fields["label_index"]!["type"]);
        Assert.Equal(["file"], dataset["schema"]!["required"]!.AsArray().Select(r => (string?)r));
        var model = fx.Document["paths"]!["/v1/models/{name}/versions"]!["post"]!["requestBody"]!["content"]!;
        Assert.Equal("binary", (string?)model["multipart/form-data"]!["schema"]!["properties"]!["file"]!["format"]);
        Assert.Equal("binary", (string?)model["application/octet-stream"]!["schema"]!["format"]);
    }

    private static void AssertDescribed(string what, string type, JsonObject media)
    {
        Assert.True(media["schema"] is JsonObject, $"{what}: no schema");
        switch (type)
        {
            case "application/octet-stream":
                Assert.Equal("binary", (string?)media["schema"]!["format"]);
                Assert.False(string.IsNullOrWhiteSpace((string?)media["schema"]!["description"]), $"{what}: binary body without description");
                break;
            case "application/json" or "multipart/form-data" or "text/event-stream":
                Assert.True(media.ContainsKey("example"), $"{what}: no example");
                break;
            default:
                Assert.Fail($"{what}: unexpected media type");
                break;
        }
    }

    private IEnumerable<(string Method, string Path, bool ReadOnly)> AppRoutes() =>
        fx.Api.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? []).Select(m =>
                // A catch-all parameter ({**path}) is documented as a plain one ({path}).
                (m, "/" + (e.RoutePattern.RawText ?? "").Trim('/').Replace("{**", "{", StringComparison.Ordinal), e.Metadata.GetMetadata<ReadOnlyEndpointAttribute>() is not null)));
}
