using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Refusals a person meets first (a comment in the body, a string for a number, an empty registry name):
/// each says what is wrong, where, and what to send, in JSON terms rather than .NET ones.</summary>
public sealed class ErrorsSayWhatToDoOverTcpTests(DefaultService service) : IClassFixture<DefaultService>
{
    private readonly ServedModel _s = service.S;

    private static string JobBody(string fields) =>
        $$"""{"model": {{TestModels.DenseJson}}, "dataset": "{{ServedModel.Dataset}}", "device": "cpu"{{fields}}}""";

    private async Task<string> DetailAsync(string path, string body)
    {
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync(path, TestModels.Json(body)), 400);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.DoesNotContain("System.", detail);
        Assert.DoesNotContain("NeuralService.", detail);
        return detail;
    }

    [Fact]
    public async Task ABodyThatIsNotJsonSaysWhereAndWhatToSend()
    {
        var detail = await DetailAsync("/v1/jobs", "// my first job\n{}");
        Assert.StartsWith("the request body is not valid JSON: '/' is an invalid start of a value (line 1, column 1)", detail);
        Assert.Contains("send one JSON object with Content-Type: application/json", detail);
        Assert.Contains("/swagger", detail);

        var trailing = await DetailAsync("/v1/jobs", JobBody(""", "register_as": "m",""").Replace("\"device\": \"cpu\"", "\"device\": \"cpu\",\n"));
        Assert.StartsWith("the request body is not valid JSON:", trailing);
        Assert.Matches(@"\(line \d+, column \d+\)", trailing);
    }

    [Fact]
    public async Task AValueOfTheWrongTypeNamesTheFieldAndTheTypeToSend()
    {
        var detail = await DetailAsync("/v1/jobs", JobBody(""", "register_as": "m", "fit": {"epochs": "many"}"""));
        Assert.Matches(@"^'fit\.epochs' has a value of the wrong type \(line \d+, column \d+\): send a whole number; ", detail);
    }

    [Theory]
    [InlineData("", "register_as '' is invalid: it is empty; use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit, e.g. 'fashion-mlp'")]
    [InlineData("my model", "register_as 'my model' is invalid: ' ' is not allowed; use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit, e.g. 'my-model'")]
    public async Task AnInvalidRegistryNameSaysWhatIsAllowed(string name, string expected) =>
        Assert.Equal(expected, await DetailAsync("/v1/jobs", JobBody($$""", "register_as": "{{name}}" """)));
}
