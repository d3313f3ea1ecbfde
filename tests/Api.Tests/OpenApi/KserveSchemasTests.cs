using System.Text.Json.Nodes;

namespace NeuralService.Api.Tests.OpenApi;

/// <summary>The document says what the KServe codecs enforce: the infer request, its inputs and requested outputs are
/// closed, their <c>parameters</c> objects open (the Open Inference Protocol lets clients add keys there).</summary>
public sealed class KserveSchemasTests(OpenApiFixture fx) : IClassFixture<OpenApiFixture>
{
    private JsonObject Schema(string name) => fx.Document["components"]!["schemas"]![name]!.AsObject();

    private static bool Closed(JsonObject schema) => schema["additionalProperties"] is JsonValue v && !v.GetValue<bool>();

    [Theory]
    [InlineData("InferenceRequest")]
    [InlineData("InferenceInput")]
    [InlineData("RequestedOutput")]
    [InlineData("PredictRequest")]
    public void ProtocolObjectsAreClosed(string name) => Assert.True(Closed(Schema(name)), $"{name}: {Schema(name).ToJsonString()}");

    [Theory]
    [InlineData("InferenceRequestParameters")]
    [InlineData("InputParameters")]
    [InlineData("OutputParameters")]
    public void ParametersObjectsAreOpen(string name) => Assert.False(Closed(Schema(name)), $"{name}: {Schema(name).ToJsonString()}");
}
