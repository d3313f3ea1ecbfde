using System.Text.Json.Nodes;

namespace NeuralService.Api.Tests.OpenApi;

/// <summary>The document says what the server enforces: every object the JSON request bodies bind to is closed
/// (<c>additionalProperties: false</c>, unknown fields are refused with a 400), and the deliberately open members
/// (the Keras model JSON, loss/metric forms) are not.</summary>
public sealed class StrictSchemasTests(OpenApiFixture fx) : IClassFixture<OpenApiFixture>
{
    [Theory]
    [InlineData("post", "/v1/jobs", "JobRequest")]
    [InlineData("put", "/v1/models/{name}/aliases/{alias}", "AliasRequest")]
    public void TypedRequestBodiesAreClosedAtEveryLevel(string method, string path, string schema)
    {
        var body = fx.Document["paths"]![path]![method]!["requestBody"]!["content"]!["application/json"]!["schema"]!;
        Assert.True(body.ToJsonString().Contains("/" + schema + "\"", StringComparison.Ordinal), body.ToJsonString());
        var closed = new List<string>();
        AssertClosed(body, schema, closed, []);
        Assert.Contains(schema, closed);
        if (schema == "JobRequest")
            foreach (var nested in new[] { "FitSettings", "CompileOptions", "ModelReference", "CallbackSpec" }) Assert.Contains(nested, closed);
    }

    [Theory]
    [InlineData("JobRequest", "model")]
    [InlineData("CompileOptions", "loss")]
    [InlineData("CompileOptions", "metrics")]
    [InlineData("CallbackSpec", "config")]
    public void OpenMembersStayOpen(string schema, string member)
    {
        var property = Schema(schema)["properties"]![member]!.AsObject();
        Assert.False(property["additionalProperties"] is JsonValue v && !v.GetValue<bool>(), $"{schema}.{member} is closed");
        Assert.Null(property["$ref"]);
    }

    private JsonObject Schema(string name) => fx.Document["components"]!["schemas"]![name]!.AsObject();

    private void AssertClosed(JsonNode node, string where, List<string> closed, HashSet<string> seen)
    {
        if ((string?)node["$ref"] is { } reference)
        {
            var name = reference[(reference.LastIndexOf('/') + 1)..];
            if (!seen.Add(name)) return;
            var schema = Schema(name);
            if (schema["properties"] is JsonObject)
            {
                Assert.True(schema["additionalProperties"] is JsonValue v && !v.GetValue<bool>(), $"{where} ({name}) allows unknown fields");
                closed.Add(name);
            }
            node = schema;
        }
        foreach (var key in new[] { "items", "additionalProperties" })
            if (node[key] is JsonObject inner) AssertClosed(inner, $"{where}.{key}", closed, seen);
        foreach (var key in new[] { "allOf", "oneOf", "anyOf" })
            if (node[key] is JsonArray parts) foreach (var part in parts.OfType<JsonObject>()) AssertClosed(part, where, closed, seen);
        if (node["properties"] is JsonObject properties)
            foreach (var (name, property) in properties) if (property is not null) AssertClosed(property, $"{where}.{name}", closed, seen);
    }
}
