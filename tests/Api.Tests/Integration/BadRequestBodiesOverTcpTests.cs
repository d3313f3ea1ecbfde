using System.Net;
using System.Text.Json;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Malformed and ill-typed inference, predict and job bodies over TCP: 400 problem details, nothing stored changes.</summary>
public sealed class BadRequestBodiesOverTcpTests(DefaultService service) : IClassFixture<DefaultService>
{
    private readonly ServedModel _s = service.S;

    private const string Infer = "/v2/models/mlp/versions/production/infer";
    private const string Predict = "/v1/models/mlp:predict";

    public static TheoryData<string, string> MalformedBodies => new()
    {
        { Infer, "{not json" },
        { Infer, "" },
        { Infer, "[1, 2, 3]" },
        { Infer, """{"inputs": {"name": "x"}}""" },
        { Infer, """{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}""" },
        { Infer, """{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}], "outputs": "all"}""" },
        { Infer, """{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}], "outputs": [{"name": 5}]}""" },
        { Predict, "{not json" },
        { Predict, """{"instances": []}""" },
        { Predict, """{"instances": [[1, 2, 3, 4], [1, 2]]}""" },
        { Predict, """{"rows": [[1, 2, 3, 4]]}""" },
        { "/v1/jobs", "{not json" },
        { "/v1/jobs", "[]" },
        { "/v1/jobs", """{"dataset": "blobs-small", "register_as": "x", "fit": {"epochs": "many"}}""" },
        { "/v1/jobs", """{"dataset": "blobs-small", "register_as": "x", "model": {"class_name": "Sequential", "config": {"layers": [{"class_name": "NoSuchLayer"}]}}}""" },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task MalformedBodiesAre400ProblemsAndStoreNothing(string path, string body) =>
        await RefusedAsync(path, body.Replace("\"IN\"", $"\"{_s.InputName}\""), 400, 422);

    public static TheoryData<string, string> BadTensors => new()
    {
        // wrong shape: 5 features where the model takes 4, and a rank-1 tensor
        { "shape", """{"inputs": [{"name": "IN", "shape": [1, 5], "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]}""" },
        { "shape", """{"inputs": [{"name": "IN", "shape": [4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""" },
        { "shape", """{"inputs": [{"name": "IN", "shape": [1, -4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""" },
        // wrong datatype: one the model does not take, one that does not exist, values that are not numbers
        { "datatype", """{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "INT64", "data": [1, 2, 3, 4]}]}""" },
        { "datatype", """{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "float32", "data": [1, 2, 3, 4]}]}""" },
        { "datatype", """{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, true, 4]}]}""" },
        // data length against the shape
        { "length", """{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3]}]}""" },
        { "length", """{"inputs": [{"name": "IN", "shape": [2, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""" },
        { "length", """{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [[1, 2], [3]]}]}""" },
        // non-finite values: JSON has no NaN literal, the strings are refused, and a number beyond FP32 is refused too
        { "nan", """{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, "NaN", 4]}]}""" },
        { "nan", """{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, "Infinity", 4]}]}""" },
        { "json", """{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, NaN, 4]}]}""" },
        { "nan", """{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 1e39, 4]}]}""" },
        { "nan", """{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 1e999, 4]}]}""" },
    };

    [Theory]
    [MemberData(nameof(BadTensors))]
    public async Task BadTensorsAre400ProblemsAndStoreNothing(string what, string body)
    {
        var problem = await RefusedAsync(Infer, body.Replace("\"IN\"", $"\"{_s.InputName}\""), 400);
        // Each refusal names the input at fault, except JSON that does not parse at all.
        if (what != "json") Assert.Contains($"'{_s.InputName}'", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("""{"instances": [[1, 2, "NaN", 4]]}""")]
    [InlineData("""{"instances": [[1, 2, 1e39, 4]]}""")]
    [InlineData("""{"instances": [[1, 2, 3, 4, 5]]}""")]
    [InlineData("""{"instances": [["a", "b", "c", "d"]]}""")]
    public async Task BadPredictInstancesAre400Problems(string body) => await RefusedAsync(Predict, body, 400);

    [Theory]
    // JSON has no NaN: a bare NaN is malformed, the string is not a number; the service never reads them as NaN.
    [InlineData("""{"learning_rate": NaN}""")]
    [InlineData("""{"learning_rate": "NaN"}""")]
    [InlineData("""{"learning_rate": "Infinity"}""")]
    [InlineData("""{"learning_rate": -1}""")]
    [InlineData("""{"learning_rate": 1e999}""")]
    public async Task NonFiniteJobSettingsAre400Problems(string compile)
    {
        var body = $$"""{"model": {{TestModels.DenseJson}}, "dataset": "{{ServedModel.Dataset}}", "register_as": "nan-job", "compile": {{compile}}}""";
        await RefusedAsync("/v1/jobs", body, 400);
    }

    [Fact]
    public async Task BinaryNaNIsRawIeeeDataAndComesBackAsTheStringNaN()
    {
        // The binary extension carries IEEE floats as they are: a NaN input is not refused (there is no text to refuse),
        // it propagates, and a JSON output writes it as "NaN" because JSON numbers cannot hold it.
        float[] x = [float.NaN, 1, 2, 3];
        var raw = System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()).ToArray();
        var header = System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            inputs = new[] { new { name = _s.InputName, shape = new[] { 1, 4 }, datatype = "FP32", parameters = new { binary_data_size = raw.Length } } },
        }));
        var content = TestModels.Octets([.. header, .. raw]);
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var r = await _s.Client.PostAsync(Infer, content);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var data = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("outputs")[0].GetProperty("data");
        Assert.All(data.EnumerateArray(), v => Assert.Equal("NaN", v.GetString()));
    }

    [Theory]
    [InlineData("/v2/models/ghost/infer")]
    [InlineData("/v2/models/mlp/versions/7/infer")]
    [InlineData("/v2/models/mlp/versions/staging/infer")]
    [InlineData("/v1/models/ghost:predict")]
    public async Task UnknownModelVersionOrAliasIs404(string path)
    {
        var body = path.Contains(":predict") ? """{"instances": [[1, 2, 3, 4]]}""" : _s.InferJson([1, 2, 3, 4], 1);
        await RefusedAsync(path, body, 404);
    }

    [Theory]
    [InlineData("GET", "/v1/models/ghost")]
    [InlineData("GET", "/v1/models/mlp/versions/7")]
    [InlineData("GET", "/v1/models/mlp/versions/staging/onnx")]
    [InlineData("GET", "/v2/models/mlp/versions/staging")]
    [InlineData("DELETE", "/v1/models/mlp/aliases/staging")]
    [InlineData("GET", "/v1/datasets/ds-none")]
    [InlineData("GET", "/v1/jobs/job-none")]
    [InlineData("GET", "/v1/jobs/job-none/events")]
    [InlineData("POST", "/v1/jobs/job-none/cancel")]
    public async Task UnknownRegistryDatasetAndJobReferencesAre404(string method, string path)
    {
        var before = await _s.SnapshotAsync();
        await ProblemAssert.IsProblemAsync(await _s.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)), 404);
        before.AssertSame(await _s.SnapshotAsync());
    }

    [Fact]
    public async Task AliasToAMissingVersionIs404AndChangesNothing()
    {
        var before = await _s.SnapshotAsync();
        await ProblemAssert.IsProblemAsync(await _s.Client.PutAsync("/v1/models/mlp/aliases/production", TestModels.Json("""{"version": 9}""")), 404);
        await ProblemAssert.IsProblemAsync(await _s.Client.PutAsync("/v1/models/ghost/aliases/production", TestModels.Json("""{"version": 1}""")), 404);
        await ProblemAssert.IsProblemAsync(await _s.Client.PutAsync("/v1/models/mlp/aliases/production", TestModels.Json("""{"version": "one"}""")), 400);
        before.AssertSame(await _s.SnapshotAsync());
    }

    private async Task<JsonElement> RefusedAsync(string path, string body, params int[] statuses)
    {
        var before = await _s.SnapshotAsync();
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync(path, TestModels.Json(body)), statuses);
        before.AssertSame(await _s.SnapshotAsync());
        // The model still serves.
        Assert.Equal(HttpStatusCode.OK, (await _s.Client.PostAsync(Infer, TestModels.Json(_s.InferJson([1, 2, 3, 4], 1)))).StatusCode);
        return problem;
    }
}
