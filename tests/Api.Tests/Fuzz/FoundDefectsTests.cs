using System.Text;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Fuzz;

/// <summary>The requests the fuzz suite found answered 500, kept as fixed cases so they stay fixed whatever the
/// generators draw: each must now be a 4xx problem and leave the store as it was.</summary>
public sealed class FoundDefectsTests(FuzzService service) : IClassFixture<FuzzService>
{
    private readonly FuzzService _s = service;

    public static TheoryData<string, string> BrokenForms => new()
    {
        // ReadFormAsync threw IOException("Unexpected end of Stream…"): 500 on both upload endpoints.
        { "/v1/datasets", "no closing boundary" },
        { "/v1/datasets", "other boundary" },
        { "/v1/models/mlp/versions", "no closing boundary" },
        { "/v1/models/mlp/versions", "other boundary" },
        { "/v1/models/mlp/versions", "cut in the file part" },
    };

    [Theory]
    [MemberData(nameof(BrokenForms))]
    public async Task AMultipartBodyThatBreaksTheFramingIs400(string target, string how)
    {
        var file = target == "/v1/datasets" ? Part.File("file", "blobs.csv", Encoding.UTF8.GetBytes(TestModels.BlobsCsv(10))) : Part.File("file", "m.onnx", _s.Onnx);
        var (contentType, body) = Multipart.Write([file, Part.Field("name", "broken-form")], close: how != "no closing boundary");
        if (how == "other boundary") contentType = "multipart/form-data; boundary=other-boundary";
        if (how == "cut in the file part") body = body[..(body.Length / 2)];
        var outcome = await _s.CheckAsync(new FuzzRequest("POST", target, contentType, body, "upload", how));
        Assert.Null(outcome.Failure);
        Assert.Equal(400, outcome.Status);
    }

    [Theory]
    // KerasModelJson let System.Text.Json's InvalidOperationException out (500 at submit): lone surrogates in a string,
    // a number or an object where the model's name belongs.
    [InlineData("\"m\"", "\"units\": \"\\uD800x\\uDFFF\"")]
    [InlineData("\"m\"", "\"units\": 3, \"name\": \"\\uDC00\"")]
    [InlineData("\"\\uD800x\"", "\"units\": 3")]
    [InlineData("421922.08809867606", "\"units\": 3")]
    [InlineData("{\"a\": {\"a\": 1}}", "\"units\": 3")]
    public async Task AKerasConfigValueOfTheWrongKindIsRefused(string modelName, string denseConfig)
    {
        var job = $$$"""
            {"model": {"module": "keras", "class_name": "Sequential", "config": {"name": {{{modelName}}}, "layers": [
              {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "input_layer"}},
              {"module": "keras.layers", "class_name": "Dense", "config": {{{{denseConfig}}}, "activation": "softmax"}}]}},
             "dataset": "blobs", "compile": {"optimizer": "adam", "loss": "sparse_categorical_crossentropy"}, "fit": {"epochs": 1}}
            """;
        var outcome = await _s.CheckAsync(new FuzzRequest("POST", "/v1/jobs", "application/json", Encoding.UTF8.GetBytes(job), "SubmitJob", "wrong kind"));
        Assert.Null(outcome.Failure);
        Assert.InRange(outcome.Status, 400, 422);
    }

    [Theory]
    // InferCodec read names with JsonElement.GetString, whose InvalidOperationException for an escaped lone
    // surrogate was a 500.
    [InlineData("/v2/models/mlp/infer", "{\"inputs\": [{\"name\": \"\\uD800x\", \"shape\": [1, 4], \"datatype\": \"FP32\", \"data\": [1, 2, 3, 4]}]}")]
    [InlineData("/v2/models/mlp/versions/production/infer", "{\"inputs\": [{\"name\": \"input_layer\", \"shape\": [1, 4], \"datatype\": \"\\uDFFF\", \"data\": [1, 2, 3, 4]}]}")]
    public async Task AnInferenceBodyWithALoneSurrogateIs400(string target, string body)
    {
        var outcome = await _s.CheckAsync(new FuzzRequest("POST", target, "application/json", Encoding.UTF8.GetBytes(body), "Infer", "lone surrogate"));
        Assert.Null(outcome.Failure);
        Assert.Equal(400, outcome.Status);
    }

    [Theory]
    // OptimizerGraph.Get(null) threw NullReferenceException; Initializers.Fill let the runtime's OverflowException for a
    // weight of more than 2^31 elements out: both 500 at submit.
    [InlineData("\"optimizer\": null, \"loss\": \"sparse_categorical_crossentropy\"", 3)]
    [InlineData("\"optimizer\": \"adam\", \"loss\": \"sparse_categorical_crossentropy\"", 2147483647)]
    public async Task AJobWithNoOptimizerOrAnUnholdableWeightIs400(string compile, long units)
    {
        var job = $$$"""
            {"model": {"module": "keras", "class_name": "Sequential", "config": {"name": "m", "layers": [
              {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "input_layer"}},
              {"module": "keras.layers", "class_name": "Dense", "config": {"units": {{{units}}}, "activation": "softmax"}}]}},
             "dataset": "blobs", "compile": {{{{compile}}}}, "fit": {"epochs": 1}}
            """;
        var outcome = await _s.CheckAsync(new FuzzRequest("POST", "/v1/jobs", "application/json", Encoding.UTF8.GetBytes(job), "SubmitJob", "null optimizer or huge units"));
        Assert.Null(outcome.Failure);
        Assert.Equal(400, outcome.Status);
    }
}
