using System.Text.Json.Nodes;

namespace NeuralService.Api.Tests.OpenApi;

/// <summary>The served document passes a real OpenAPI validator (@readme/openapi-parser, plus Ajv for the examples),
/// and the validator is shown to be live on broken copies of the same document.</summary>
public sealed class OpenApiValidatorTests(OpenApiFixture fx) : IClassFixture<OpenApiFixture>, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("openapi-validate").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void ServedDocumentIsValidOpenApi()
    {
        var file = Write("swagger.json", fx.Json);
        var result = ExternalTools.Validate(file);
        Assert.True(result.ExitCode == 0, result.ToString());
        var operations = fx.Operations().Count;
        Assert.Contains("valid: OpenAPI 3.0", result.Stdout);
        Assert.Contains($"{operations} operations", result.Stdout);
        Assert.Matches(@"\b[1-9]\d* examples match their schemas", result.Stdout);
    }

    [Fact]
    public void ValidatorRejectsADocumentThatBreaksTheSpecification()
    {
        var broken = JsonNode.Parse(fx.Json)!.AsObject();
        broken.Remove("info");
        broken["paths"]!["/v1/jobs"]!["post"]!["responses"]!["202"]!["bogus"] = 1;
        var result = ExternalTools.Validate(Write("broken.json", broken.ToJsonString()));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("info", result.Stderr);
        Assert.Contains("bogus", result.Stderr);
    }

    [Fact]
    public void ValidatorRejectsAnExampleThatContradictsItsSchema()
    {
        var broken = JsonNode.Parse(fx.Json)!.AsObject();
        var body = broken["paths"]!["/v1/models/{name}/aliases/{alias}"]!["put"]!["requestBody"]!["content"]!["application/json"]!;
        body["example"] = new JsonObject { ["version"] = "one" };
        var result = ExternalTools.Validate(Write("bad-example.json", broken.ToJsonString()));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("PUT /v1/models/{name}/aliases/{alias} request application/json", result.Stderr);
        Assert.Contains("must be integer", result.Stderr);
    }

    [Fact]
    public void ValidatorRejectsADanglingReference()
    {
        var broken = JsonNode.Parse(fx.Json)!.AsObject();
        broken["components"]!["schemas"]!.AsObject().Remove("VersionDto");
        var result = ExternalTools.Validate(Write("dangling.json", broken.ToJsonString()));
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("VersionDto", result.Stderr);
    }

    private string Write(string name, string json)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, json);
        return path;
    }
}
