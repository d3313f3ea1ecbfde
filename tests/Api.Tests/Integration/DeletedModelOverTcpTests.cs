using System.Net;
using System.Text.Json;
using NeuralService.Api.Tests.Support;
using NeuralService.Graph.Keras;
using Google.Protobuf;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Deleting a model and uploading another under its name over TCP: the new model gets a fresh version
/// number and is what inference answers with, never the deleted one still loaded in the session cache.</summary>
public sealed class DeletedModelOverTcpTests(DefaultService service) : IClassFixture<DefaultService>
{
    private readonly ServedModel _s = service.S;

    /// <summary>The same input as the Dense test model, but five outputs instead of three.</summary>
    private const string FiveOutJson = """
        {"module": "keras", "class_name": "Sequential", "config": {"name": "mlp5", "layers": [
          {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "input_layer"}},
          {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 5, "activation": "softmax"}}
        ]}}
        """;

    [Fact]
    public async Task ANameReusedAfterDeleteGetsANewVersionAndServesTheNewModel()
    {
        var a = TestModels.DenseOnnx();
        var b = KerasModelJson.Read(FiveOutJson).ToOnnx().ToByteArray();
        Assert.Equal(TestModels.InputName(a), TestModels.InputName(b));
        var x = TestModels.Inputs(1, 4);

        Assert.Equal(1, await UploadAsync("reused", a));
        Assert.Equal(HttpStatusCode.OK, (await _s.Client.PutAsync("/v1/models/reused/aliases/production", TestModels.Json("""{"version": 1}"""))).StatusCode);
        Assert.Equal(TestModels.RunOrt(a, x, 1, 4), await InferAsync("reused", a, x), new Tolerance());

        Assert.Equal(HttpStatusCode.NoContent, (await _s.Client.DeleteAsync("/v1/models/reused?force=true")).StatusCode);
        Assert.Equal(2, await UploadAsync("reused", b)); // numbers are never reused for a name
        Assert.Equal(HttpStatusCode.NotFound, (await _s.Client.GetAsync("/v1/models/reused/versions/1")).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await _s.Client.GetAsync("/v2/models/reused/ready")).StatusCode);
        Assert.Equal(TestModels.RunOrt(b, x, 1, 4), await InferAsync("reused", b, x), new Tolerance());
        Assert.Equal(TestModels.RunOrt(b, x, 1, 4), await InferAsync("reused/versions/2", b, x), new Tolerance());
        Assert.Equal(HttpStatusCode.NotFound, (await _s.Client.PostAsync("/v2/models/reused/versions/1/infer", TestModels.Json(Body(b, x)))).StatusCode);

        // Deleting a single version and uploading again does not reuse its number either.
        Assert.Equal(HttpStatusCode.NoContent, (await _s.Client.DeleteAsync("/v1/models/reused/versions/2")).StatusCode);
        Assert.Equal(3, await UploadAsync("reused", a));
        Assert.Equal(TestModels.RunOrt(a, x, 1, 4), await InferAsync("reused", a, x), new Tolerance());
    }

    private async Task<int> UploadAsync(string name, byte[] onnx)
    {
        var r = await _s.Client.PostAsync($"/v1/models/{name}/versions", TestModels.Octets(onnx));
        Assert.Equal(HttpStatusCode.Created, r.StatusCode);
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("version").GetInt32();
    }

    private static string Body(byte[] onnx, float[] x) => JsonSerializer.Serialize(new
    {
        inputs = new[] { new { name = TestModels.InputName(onnx), shape = new[] { 1, 4 }, datatype = "FP32", data = x } },
    });

    private async Task<float[]> InferAsync(string path, byte[] onnx, float[] x)
    {
        var r = await _s.Client.PostAsync($"/v2/models/{path}/infer", TestModels.Json(Body(onnx, x)));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, text);
        return JsonDocument.Parse(text).RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
    }

    private sealed class Tolerance : IEqualityComparer<float>
    {
        public bool Equals(float p, float q) => Math.Abs(p - q) <= 1e-5f;
        public int GetHashCode(float v) => 0;
    }
}
