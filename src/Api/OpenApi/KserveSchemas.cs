using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NeuralService.Api.OpenApi;

// The KServe v2 and :predict bodies are parsed and written by hand (InferCodec, PredictCodec) for speed; these records
// only give the OpenAPI document their JSON shape. Property names follow the app's snake_case policy, as on the wire.

/// <summary>Open Inference Protocol request. With the binary tensor extension this JSON is the first
/// <c>Inference-Header-Content-Length</c> bytes of an <c>application/octet-stream</c> body.</summary>
[Description("Open Inference Protocol (KServe v2) inference request.")]
public sealed record InferenceRequest(
    [property: Description("Echoed in the response.")] string? Id,
    IReadOnlyList<InferenceInput> Inputs,
    [property: Description("Which outputs to return and how; all outputs as JSON when absent.")] IReadOnlyList<RequestedOutput>? Outputs = null,
    InferenceRequestParameters? Parameters = null);

[Description("An input tensor: its values in `data` (row-major, nested or flat), or in the binary part of the body.")]
public sealed record InferenceInput(
    string Name,
    [property: Description("Dimensions, e.g. [1, 4].")] long[] Shape,
    [property: Description("BOOL, UINT8…UINT64, INT8…INT64, FP16, BF16, FP32, FP64 or BYTES.")] string Datatype,
    [property: Description("The values, nested by shape or flat; strings for BYTES. Absent when binary_data_size is given.")] JsonElement? Data = null,
    InputParameters? Parameters = null);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Skip)] // the protocol lets clients add their own keys
public sealed record InputParameters(
    [property: Description("Bytes of this input in the binary part of the body (little-endian; BYTES as 4-byte length + bytes each).")] long? BinaryDataSize = null);

public sealed record RequestedOutput(string Name, OutputParameters? Parameters = null);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Skip)] // the protocol lets clients add their own keys
public sealed record OutputParameters(
    [property: Description("Return this output in the binary part of the response.")] bool? BinaryData = null);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Skip)] // the protocol lets clients add their own keys
public sealed record InferenceRequestParameters(
    [property: Description("Default for outputs without their own binary_data: return them as binary.")] bool? BinaryDataOutput = null);

[Description("Open Inference Protocol (KServe v2) inference response.")]
public sealed record InferenceResponse(string ModelName, string ModelVersion, string? Id, IReadOnlyList<InferenceOutput> Outputs);

[Description("An output tensor: values in `data`, or binary_data_size bytes in the binary part of the response.")]
public sealed record InferenceOutput(string Name, string Datatype, long[] Shape, JsonElement? Data = null, InputParameters? Parameters = null);

[Description("TensorFlow-Serving style request: one instance per row; an instance is the input row itself (one-input models) or an object keyed by input name.")]
public sealed record PredictRequest(IReadOnlyList<JsonElement> Instances);

[Description("One prediction per instance: the output row, or an object keyed by output name when the model has several outputs. "
    + "A classifier (trained here) adds top_k and, when its training data named the classes, class_names.")]
public sealed record PredictResponse(
    IReadOnlyList<JsonElement> Predictions,
    [property: Description("Per instance, the best classes ({class, name, probability}, best first; ?top_k=N, default 1); an object by output name with several outputs.")]
    IReadOnlyList<JsonElement>? TopK = null,
    [property: Description("Class names by class index (an object by output name with several outputs).")] JsonElement? ClassNames = null);
