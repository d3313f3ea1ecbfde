using NeuralService.Api.Hosting;
using NeuralService.Api.Kserve;
using NeuralService.Api.Security;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;

namespace NeuralService.Api.Endpoints;

/// <summary>Open Inference Protocol (KServe v2) model metadata, readiness and inference (JSON and binary tensors),
/// plus the <c>:predict</c> instances format. Every request goes through the engine's dynamic batcher.</summary>
public static class InferenceEndpoints
{
    public sealed record ModelMetadata(string Name, IReadOnlyList<string> Versions, string Platform, IReadOnlyList<TensorDto> Inputs, IReadOnlyList<TensorDto> Outputs);
    public sealed record ModelReady(string Name, string Version, bool Ready);

    public static void MapInferenceEndpoints(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/v2/models").WithTags("Inference").ProducesProblem(400).ProducesProblem(404).ProducesProblem(429).ProducesProblem(500);
        foreach (var suffix in new[] { "", "/versions/{version}" })
        {
            var n = suffix.Length == 0 ? "" : "Version";
            g.MapGet("/{name}" + suffix, async (string name, string? version, ModelRegistry r, CancellationToken ct) =>
                {
                    var v = await r.ResolveAsync(name, version, ct);
                    return new ModelMetadata(v.Model, [v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)], "onnxruntime_onnx",
                        v.Signature.Inputs.Select(TensorDto.From).ToList(), v.Signature.Outputs.Select(TensorDto.From).ToList());
                })
                .WithName("ModelMetadata" + n).WithSummary("KServe v2 model metadata" + (n.Length == 0 ? "" : " of one version"))
                .WithDescription("The model's inputs and outputs (KServe datatypes, -1 for dynamic dimensions). " + VersionNote);
            g.MapGet("/{name}" + suffix + "/ready", async (string name, string? version, ModelRegistry r, InferenceEngine engine, CancellationToken ct) =>
                {
                    var v = await r.ResolveAsync(name, version, ct);
                    await engine.GetRunnerAsync(v, ct);
                    return new ModelReady(v.Model, v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture), true);
                })
                .WithName("ModelReady" + n).WithSummary("KServe v2 model readiness" + (n.Length == 0 ? "" : " of one version"))
                .WithDescription("Loads the model into ONNX Runtime if it is not loaded yet and answers ready; 400 when it cannot be loaded. " + VersionNote);
            g.MapPost("/{name}" + suffix + "/infer", (string name, string? version, HttpContext http, ModelRegistry r, InferenceEngine engine, CancellationToken ct) =>
                    InferAsync(name, version, http, r, engine, ct))
                .WithName("Infer" + n).WithMetadata(new ReadOnlyEndpointAttribute())
                .WithSummary("KServe v2 inference" + (n.Length == 0 ? "" : " on one version"))
                .WithDescription("Runs the model on the input tensors through the dynamic batcher. JSON body, or the binary tensor data "
                    + "extension: an application/octet-stream body whose first Inference-Header-Content-Length bytes are the JSON request "
                    + "and whose rest are the raw tensors. Outputs asking for binary data come back the same way. Needs no API key. " + VersionNote)
                .Accepts<OpenApi.InferenceRequest>("application/json", "application/octet-stream")
                .Produces<OpenApi.InferenceResponse>(200, "application/json", "application/octet-stream").ProducesProblem(413).ProducesProblem(422);
        }

        foreach (var suffix in new[] { "", "/versions/{version}" })
        {
            var n = suffix.Length == 0 ? "" : "Version";
            app.MapPost("/v1/models/{name}" + suffix + ":predict", async (string name, string? version, HttpContext http, ModelRegistry r, InferenceEngine engine, CancellationToken ct) =>
                {
                    var v = await r.ResolveForServingAsync(name, version, ct);
                    var classes = PredictClasses.For(v, http.Request.Query.TryGetValue("top_k", out var k) ? k.ToString() : null);
                    var inputs = PredictCodec.Parse(await BodySizeMiddleware.ReadBodyAsync(http, ct), v.Signature);
                    var body = PredictCodec.Write(await engine.InferAsync(v, inputs, ct), classes);
                    await InferenceMetrics.RecordAsync(engine, v, inputs);
                    return Results.Bytes(body, "application/json");
                })
                .WithTags("Inference").WithName("Predict" + n).WithMetadata(new ReadOnlyEndpointAttribute())
                .WithSummary("TensorFlow-Serving style prediction" + (n.Length == 0 ? " on the latest version" : " on one version"))
                .WithDescription("{\"instances\": [...]} in, {\"predictions\": [...]} out, one row per instance: the same numbers as /v2 …/infer. "
                    + "Inputs take raw values: a model trained here folds its input scale (1/255 for 8-bit data) into the graph. For a "
                    + "classifier (a model trained here records which outputs are) the answer adds top_k: per row the best classes "
                    + "({\"class\", \"name\", \"probability\"}, best first; ?top_k=N, default 1) and class_names when the training data named them. "
                    + "Needs no API key. " + VersionNote)
                .Accepts<OpenApi.PredictRequest>("application/json").Produces<OpenApi.PredictResponse>(200)
                .ProducesProblem(400).ProducesProblem(404).ProducesProblem(413).ProducesProblem(422).ProducesProblem(429);
        }
    }

    private const string VersionNote = "Without /versions/{version} the latest version answers; {version} is a number, an alias or 'latest'.";

    private static async Task<IResult> InferAsync(string name, string? version, HttpContext http, ModelRegistry r, InferenceEngine engine, CancellationToken ct)
    {
        long? headerLength = null;
        if (http.Request.Headers.TryGetValue(InferCodec.HeaderLengthHeader, out var h))
            headerLength = long.TryParse(h.ToString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var len)
                ? len : throw Errors.ApiException.BadRequest($"{InferCodec.HeaderLengthHeader} '{h}' is not a number");
        var request = InferCodec.Parse(await BodySizeMiddleware.ReadBodyAsync(http, ct), headerLength);
        var v = await r.ResolveForServingAsync(name, version, ct);
        var (body, header) = InferCodec.Write(v, request, await engine.InferAsync(v, request.Inputs, ct));
        await InferenceMetrics.RecordAsync(engine, v, request.Inputs);
        if (header is null) return Results.Bytes(body, "application/json");
        http.Response.Headers[InferCodec.HeaderLengthHeader] = header.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return Results.Bytes(body, "application/octet-stream");
    }
}
