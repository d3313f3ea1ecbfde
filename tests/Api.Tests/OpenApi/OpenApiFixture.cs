using System.Text.Json.Nodes;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.OpenApi;

/// <summary>One real Kestrel server for a test class, and the OpenAPI document it serves.</summary>
public sealed class OpenApiFixture : IDisposable
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch", "head", "options"];
    private readonly TempDir _dir = new();

    public OpenApiFixture()
    {
        Api = new KestrelApi(_dir.Path);
        Json = Api.Client.GetStringAsync("/swagger/v1/swagger.json").GetAwaiter().GetResult();
        Document = JsonNode.Parse(Json)!.AsObject();
    }

    public KestrelApi Api { get; }
    public string Json { get; }
    public JsonObject Document { get; }

    public IReadOnlyList<(string Method, string Path, JsonObject Operation)> Operations() =>
        Document["paths"]!.AsObject()
            .SelectMany(p => p.Value!.AsObject().Where(m => Methods.Contains(m.Key)).Select(m => (m.Key.ToUpperInvariant(), p.Key, m.Value!.AsObject())))
            .ToList();

    public void Dispose()
    {
        Api.Dispose();
        _dir.Dispose();
    }
}
