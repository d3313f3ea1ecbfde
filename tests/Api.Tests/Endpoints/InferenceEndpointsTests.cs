using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Endpoints;

public sealed class InferenceEndpointsTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ApiFactory _app;
    private readonly HttpClient _client;
    private readonly byte[] _onnx = TestModels.DenseOnnx();
    private readonly string _in, _out;

    public InferenceEndpointsTests()
    {
        _app = new ApiFactory(_dir.Path, new Dictionary<string, string?> { ["Neural:Limits:MaxRequestBytes"] = "65536" });
        _client = _app.CreateClient();
        _in = TestModels.InputName(_onnx);
        _out = TestModels.OutputName(_onnx);
        Assert.Equal(HttpStatusCode.Created, _client.PostAsync("/v1/models/mlp/versions", TestModels.Octets(_onnx)).Result.StatusCode);
    }

    public void Dispose()
    {
        _app.Dispose();
        _dir.Dispose();
    }

    private static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;

    private string JsonRequest(float[] x, int rows) => JsonSerializer.Serialize(new
    {
        id = "r1",
        inputs = new[] { new { name = _in, shape = new[] { rows, 4 }, datatype = "FP32", data = x } },
    });

    [Fact]
    public async Task MetadataAndReadyDescribeTheSignature()
    {
        var meta = await Json(await _client.GetAsync("/v2/models/mlp"));
        Assert.Equal("mlp", meta.GetProperty("name").GetString());
        Assert.Equal(["1"], meta.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
        var input = meta.GetProperty("inputs")[0];
        Assert.Equal(_in, input.GetProperty("name").GetString());
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        Assert.Equal([-1L, 4L], input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal([-1L, 3L], meta.GetProperty("outputs")[0].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/v2/models/mlp/versions/1")).StatusCode);
        var ready = await Json(await _client.GetAsync("/v2/models/mlp/versions/latest/ready"));
        Assert.True(ready.GetProperty("ready").GetBoolean());
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/v2/models/none/ready")).StatusCode);
    }

    [Fact]
    public async Task JsonInferenceMatchesOnnxRuntime()
    {
        var x = TestModels.Inputs(3, 4);
        var expected = TestModels.RunOrt(_onnx, x, 3, 4);
        var r = await _client.PostAsync("/v2/models/mlp/versions/1/infer", TestModels.Json(JsonRequest(x, 3)));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var body = await Json(r);
        Assert.Equal("r1", body.GetProperty("id").GetString());
        Assert.Equal("1", body.GetProperty("model_version").GetString());
        var output = body.GetProperty("outputs")[0];
        Assert.Equal("FP32", output.GetProperty("datatype").GetString());
        Assert.Equal([3L, 3L], output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal(expected, output.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray());
    }

    [Fact]
    public async Task BinaryTensorsInAndOutMatchOnnxRuntime()
    {
        var x = TestModels.Inputs(5, 4);
        var expected = TestModels.RunOrt(_onnx, x, 5, 4);
        var raw = MemoryMarshal.AsBytes(x.AsSpan()).ToArray();
        var header = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            inputs = new[] { new { name = _in, shape = new[] { 5, 4 }, datatype = "FP32", parameters = new { binary_data_size = raw.Length } } },
            outputs = new[] { new { name = _out, parameters = new { binary_data = true } } },
        }));
        var content = TestModels.Octets([.. header, .. raw]);
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString());
        var r = await _client.PostAsync("/v2/models/mlp/infer", content);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var length = int.Parse(r.Headers.GetValues("Inference-Header-Content-Length").Single());
        var bytes = await r.Content.ReadAsByteArrayAsync();
        var json = JsonDocument.Parse(bytes.AsMemory(0, length)).RootElement;
        var output = json.GetProperty("outputs")[0];
        Assert.Equal(expected.Length * 4, output.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal(bytes.Length - length, expected.Length * 4);
        Assert.Equal(expected, MemoryMarshal.Cast<byte, float>(bytes.AsSpan(length)).ToArray());

        // The same request as JSON gives the same numbers.
        var viaJson = await Json(await _client.PostAsync("/v2/models/mlp/infer", TestModels.Json(JsonRequest(x, 5))));
        Assert.Equal(expected, viaJson.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray());
    }

    [Fact]
    public async Task ConcurrentRequestsAreBatchedAndEachGetsItsRows()
    {
        var tasks = Enumerable.Range(0, 12).Select(async i =>
        {
            var x = TestModels.Inputs(i % 3 + 1, 4).Select(v => v + i).ToArray();
            var r = await _client.PostAsync("/v2/models/mlp/infer", TestModels.Json(JsonRequest(x, i % 3 + 1)));
            var got = (await Json(r)).GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            Assert.Equal(TestModels.RunOrt(_onnx, x, i % 3 + 1, 4), got);
        });
        await Task.WhenAll(tasks);
    }

    [Fact]
    public async Task PredictTakesInstancesAndReturnsRows()
    {
        var x = TestModels.Inputs(2, 4);
        var expected = TestModels.RunOrt(_onnx, x, 2, 4);
        var body = JsonSerializer.Serialize(new { instances = new[] { x[..4], x[4..] } });
        var r = await _client.PostAsync("/v1/models/mlp:predict", TestModels.Json(body));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var predictions = (await Json(r)).GetProperty("predictions");
        Assert.Equal(2, predictions.GetArrayLength());
        Assert.Equal(expected, predictions.EnumerateArray().SelectMany(row => row.EnumerateArray().Select(v => v.GetSingle())).ToArray());
    }

    [Theory]
    [InlineData("{not json", 400)]
    [InlineData("""{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "INT64", "data": [1, 2, 3, 4]}]}""", 400)]
    [InlineData("""{"inputs": [{"name": "IN", "shape": [1, 5], "datatype": "FP32", "data": [1, 2, 3, 4, 5]}]}""", 400)]
    [InlineData("""{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3]}]}""", 400)]
    [InlineData("""{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, "NaN", 4]}]}""", 400)]
    [InlineData("""{"inputs": [{"name": "nope", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""", 400)]
    [InlineData("""{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP99", "data": [1, 2, 3, 4]}]}""", 400)]
    [InlineData("""{"inputs": [{"name": "IN", "shape": [100000, 100000, 100], "datatype": "FP32", "data": []}]}""", 413)]
    [InlineData("""{"inputs": [{"name": "IN", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}], "outputs": [{"name": "nope"}]}""", 400)]
    public async Task BadInputsAreProblemDetails(string body, int status)
    {
        var r = await _client.PostAsync("/v2/models/mlp/infer", TestModels.Json(body.Replace("\"IN\"", $"\"{_in}\"")));
        Assert.Equal(status, (int)r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        var problem = await Json(r);
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));
        // The stored model is intact and still serves.
        Assert.Equal(HttpStatusCode.OK, (await _client.PostAsync("/v2/models/mlp/infer", TestModels.Json(JsonRequest(TestModels.Inputs(1, 4), 1)))).StatusCode);
    }

    [Fact]
    public async Task UnknownModelIs404AndHugePayloadIs413()
    {
        var unknown = await _client.PostAsync("/v2/models/ghost/infer", TestModels.Json(JsonRequest(TestModels.Inputs(1, 4), 1)));
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType!.MediaType);

        var huge = TestModels.Inputs(5000, 4);
        var r = await _client.PostAsync("/v2/models/mlp/infer", TestModels.Json(JsonRequest(huge, 5000)));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        var predictTooLarge = await _client.PostAsync("/v1/models/mlp:predict", TestModels.Json(JsonSerializer.Serialize(new { instances = huge.Chunk(4) })));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, predictTooLarge.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/v1/models/mlp/versions/1")).StatusCode);
    }

    [Fact]
    public async Task BinaryHeaderLengthBeyondTheBodyIsRefused()
    {
        var content = TestModels.Octets(Encoding.UTF8.GetBytes("{\"inputs\": []}"));
        content.Headers.Add("Inference-Header-Content-Length", "9999");
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.PostAsync("/v2/models/mlp/infer", content)).StatusCode);
    }
}
