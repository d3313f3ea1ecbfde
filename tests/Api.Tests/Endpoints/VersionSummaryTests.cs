using System.Net;
using System.Text.Json;
using Google.Protobuf;
using NeuralService.Api.Tests.Support;
using NeuralService.Graph.Keras;

namespace NeuralService.Api.Tests.Endpoints;

/// <summary>GET /v1/models/{name}/versions/{v}/summary: Keras's model.summary() from the stored Keras config when the
/// version has one, else read off the ONNX graph; both count the same parameters.</summary>
public sealed class VersionSummaryTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ApiFactory _app;
    private readonly HttpClient _client;

    public VersionSummaryTests()
    {
        _app = new ApiFactory(_dir.Path);
        _client = _app.CreateClient();
    }

    public void Dispose()
    {
        _app.Dispose();
        _dir.Dispose();
    }

    private async Task<JsonElement> SummaryAsync(string path)
    {
        var r = await _client.GetAsync(path);
        Assert.True(r.StatusCode == HttpStatusCode.OK, await r.Content.ReadAsStringAsync());
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
    }

    [Fact]
    public async Task AVersionWithAKerasConfigIsSummarizedFromItAndAnUploadFromItsOnnxGraph()
    {
        // 4 → Dense(8) → Dense(3): 4·8+8 + 8·3+3 = 67 parameters.
        var expectedTotal = KerasModelJson.Read(TestModels.DenseJson).Weights.Sum(w => w.Size);
        Assert.Equal(67, expectedTotal);
        var withConfig = Onnx.ModelProto.Parser.ParseFrom(TestModels.DenseOnnx());
        withConfig.MetadataProps.Add(new Onnx.StringStringEntryProto { Key = "keras_config", Value = TestModels.DenseJson });
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/v1/models/mlp/versions", TestModels.Octets(withConfig.ToByteArray()))).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/v1/models/mlp/versions", TestModels.Octets(TestModels.DenseOnnx()))).StatusCode);

        var keras = await SummaryAsync("/v1/models/mlp/versions/1/summary");
        Assert.Equal("keras_config", keras.GetProperty("source").GetString());
        var rows = keras.GetProperty("layers").EnumerateArray().Select(l =>
            $"{l.GetProperty("name").GetString()}|{l.GetProperty("type").GetString()}|{l.GetProperty("output_shape").GetString()}|{l.GetProperty("params").GetInt64()}").ToList();
        Assert.Equal(["input_layer|InputLayer|(None, 4)|0", "dense|Dense|(None, 8)|40", "dense_1|Dense|(None, 3)|27"], rows);
        Assert.Equal(expectedTotal, keras.GetProperty("total_params").GetInt64());
        Assert.Equal(expectedTotal, keras.GetProperty("trainable_params").GetInt64());
        Assert.Equal(0, keras.GetProperty("non_trainable_params").GetInt64());
        Assert.EndsWith($"Total params: {expectedTotal}", keras.GetProperty("text").GetString());

        var onnx = await SummaryAsync("/v1/models/mlp/versions/latest/summary");
        Assert.Equal(2, onnx.GetProperty("version").GetInt32());
        Assert.Equal("onnx", onnx.GetProperty("source").GetString());
        Assert.Equal(expectedTotal, onnx.GetProperty("total_params").GetInt64());
        var layers = onnx.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(expectedTotal, layers.Sum(l => l.GetProperty("params").GetInt64()));
        // The graph's output is declared, so the last row has its shape.
        Assert.Equal("(None, 3)", layers[^1].GetProperty("output_shape").GetString());
    }

    [Theory]
    [InlineData("/v1/models/nope/versions/1/summary")]
    [InlineData("/v1/models/mlp/versions/9/summary")]
    [InlineData("/v1/models/mlp/versions/staging/summary")]
    public async Task UnknownModelsAndVersionsAre404(string path)
    {
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/v1/models/mlp/versions", TestModels.Octets(TestModels.DenseOnnx()))).StatusCode);
        var r = await _client.GetAsync(path);
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AuthSaysWhetherChangesNeedAKey()
    {
        var open = JsonDocument.Parse(await _client.GetStringAsync("/v1/auth")).RootElement;
        Assert.False(open.GetProperty("api_keys").GetBoolean());
        using var keyed = new ApiFactory(_dir.Path + "-keys", new Dictionary<string, string?> { ["NEURAL_API_KEYS"] = "k1" });
        try
        {
            var on = JsonDocument.Parse(await keyed.CreateClient().GetStringAsync("/v1/auth")).RootElement;
            Assert.True(on.GetProperty("api_keys").GetBoolean());
        }
        finally { Directory.Delete(_dir.Path + "-keys", recursive: true); }
    }
}
