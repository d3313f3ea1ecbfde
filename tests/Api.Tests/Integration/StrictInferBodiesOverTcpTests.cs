using System.Net;
using System.Text.Json;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Integration;

/// <summary>The KServe v2 infer and the :predict bodies over TCP are as strict as every other body: a member the
/// protocol does not define is a 400 problem naming it by its JSON path and what is accepted; the protocol's
/// <c>parameters</c> objects stay open (any keys), as the Open Inference Protocol says, but must be objects.</summary>
public sealed class StrictInferBodiesOverTcpTests(DefaultService service) : IClassFixture<DefaultService>
{
    private readonly ServedModel _s = service.S;

    private string Input(string extra = "") =>
        $$"""{"name": "{{_s.InputName}}", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]{{extra}}}""";

    [Theory]
    [InlineData("""{"inputs": [INPUT], "output": []}""", "unknown field 'output'", "id, parameters, inputs, outputs")]
    [InlineData("""{"inputs": [INPUT_EXTRA]}""", "unknown field 'inputs[0].dtype'", "name, shape, datatype, parameters, data")]
    [InlineData("""{"inputs": [INPUT], "outputs": [{"name": "OUT", "binary": true}]}""", "unknown field 'outputs[0].binary'", "name, parameters")]
    [InlineData("""{"inputs": [INPUT], "parameters": ["binary_data_output"]}""", "'parameters' must be an object", "")]
    [InlineData("""{"inputs": [INPUT], "id": 7}""", "'id' must be a string", "")]
    public async Task AnUnknownOrMistypedInferMemberIs400NamingIt(string template, string expected, string accepted)
    {
        var body = template.Replace("INPUT_EXTRA", Input(""", "dtype": "FP32" """)).Replace("INPUT", Input()).Replace("OUT", _s.OutputName);
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync($"/v2/models/{ServedModel.Model}/infer", TestModels.Json(body)), 400);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains(expected, detail);
        Assert.Contains(accepted, detail);
    }

    [Fact]
    public async Task ParametersObjectsStayOpen()
    {
        var input = Input(""", "parameters": {"content_type": "np", "anything": null}""");
        var output = JsonSerializer.Serialize(new { name = _s.OutputName, parameters = new { binary_data = false, classification = 0 } });
        var body = """{"id": "r1", "parameters": {"priority": 1, "custom": {"a": [1]} }, "inputs": [""" + input + "], \"outputs\": [" + output + "]}";
        var response = await _s.Client.PostAsync($"/v2/models/{ServedModel.Model}/infer", TestModels.Json(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("r1", result.GetProperty("id").GetString());
        Assert.Equal(3, result.GetProperty("outputs")[0].GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task AnUnknownPredictMemberIs400NamingIt()
    {
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync($"/v1/models/{ServedModel.Model}:predict",
            TestModels.Json("""{"instances": [[1, 2, 3, 4]], "signature_name": "serving_default"}""")), 400);
        Assert.Contains("unknown field 'signature_name'; the request body accepts instances", problem.GetProperty("detail").GetString());

        var typo = $$"""{"instances": [{"{{_s.InputName}}": [1, 2, 3, 4], "extra": [0]}]}""";
        problem = await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync($"/v1/models/{ServedModel.Model}:predict", TestModels.Json(typo)), 400);
        Assert.Contains($"unknown field 'instances[0].extra'; the model's inputs are {_s.InputName}", problem.GetProperty("detail").GetString());

        var ok = await _s.Client.PostAsync($"/v1/models/{ServedModel.Model}:predict", TestModels.Json($$"""{"instances": [{"{{_s.InputName}}": [1, 2, 3, 4]}]}"""));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }
}
