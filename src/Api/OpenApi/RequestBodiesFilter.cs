using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.OpenApi;
using NeuralService.Api.Kserve;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace NeuralService.Api.OpenApi;

/// <summary>Bodies that endpoints read by hand, which metadata alone cannot describe: raw bytes become
/// <c>string/binary</c>, multipart uploads get their form fields, and KServe inference gets the binary tensor
/// extension (<c>Inference-Header-Content-Length</c> on request and response).</summary>
public sealed class RequestBodiesFilter : IOperationFilter
{
    public const string OctetStream = "application/octet-stream";
    public const string Multipart = "multipart/form-data";

    private const string BinaryTensorRequest =
        "Binary tensor data extension: the body is the JSON inference request (its first " + InferCodec.HeaderLengthHeader +
        " bytes) followed by the raw tensors, little-endian, in input order; each input with a parameters.binary_data_size " +
        "takes that many bytes (BYTES elements as a 4-byte little-endian length and the bytes).";

    private const string BinaryTensorResponse =
        "Binary tensor data extension, when an output asks for binary_data (or binary_data_output is set): the JSON response " +
        "(its first " + InferCodec.HeaderLengthHeader + " bytes) followed by those outputs' raw little-endian bytes in output order.";

    /// <summary>The form fields of each multipart upload, by operation id: name, type, description.</summary>
    private static readonly Dictionary<string, (string Name, string Type, string Description)[]> Forms = new()
    {
        ["UploadVersion"] = [("file", "binary", "The ONNX model file.")],
        ["UploadDataset"] =
        [
            ("file", "binary", "The features: CSV (with the label column), NPY, NPZ, IDX or gzipped IDX."),
            ("labels", "binary", "The labels, for NPY and IDX features."),
            ("name", "string", "Dataset name; the file name without extension when absent."),
            ("format", "string", "csv, npy, npz or idx; guessed from the file name when absent."),
            ("label_column", "string", "CSV: the label column's header name (default: the last column)."),
            ("label_index", "integer", "CSV: the label column's index; negative counts from the end."),
            ("label_type", "string", "Label element type: float32 (default) or int64."),
            ("features_key", "string", "NPZ: the member holding the features."),
            ("labels_key", "string", "NPZ: the member holding the labels."),
            ("header", "boolean", "CSV: whether the first row is a header (default true)."),
        ],
    };

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var metadata = context.ApiDescription.ActionDescriptor.EndpointMetadata;
        var binaryTensors = metadata.OfType<IAcceptsMetadata>().Any(a => a.RequestType == typeof(InferenceRequest));

        if (operation.RequestBody is OpenApiRequestBody body && body.Content is { } content)
        {
            if (content.TryGet(OctetStream, out var octets))
            {
                octets.Schema = Binary(binaryTensors ? BinaryTensorRequest : "The raw file.");
                octets.Example = null;
            }
            if (content.TryGet(Multipart, out var form) && operation.OperationId is { } id && Forms.TryGetValue(id, out var fields))
            {
                form.Schema = FormSchema(fields);
                form.Encoding = fields.Where(f => f.Type == "binary").ToDictionary(f => f.Name, _ => new OpenApiEncoding { ContentType = OctetStream });
            }
        }

        if (binaryTensors)
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = InferCodec.HeaderLengthHeader,
                In = ParameterLocation.Header,
                Required = false,
                Description = "With an application/octet-stream body: the length in bytes of the JSON part at its start.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64", Minimum = "0" },
            });
        }

        foreach (var (status, response) in operation.Responses ?? [])
        {
            if (response is not OpenApiResponse r || r.Content is null) continue;
            if (r.Content.TryGet(OctetStream, out var octets))
            {
                octets.Schema = Binary(binaryTensors ? BinaryTensorResponse : "The file's bytes.");
                if (binaryTensors)
                {
                    r.Headers ??= new Dictionary<string, IOpenApiHeader>();
                    r.Headers[InferCodec.HeaderLengthHeader] = new OpenApiHeader
                    {
                        Description = "Present with an application/octet-stream response: the length of its JSON part.",
                        Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int64" },
                    };
                }
            }
            if (r.Content.TryGet("text/event-stream", out var events))
                events.Schema = new OpenApiSchema { Type = JsonSchemaType.String, Description = "Server-Sent Events: `event: <type>` and `data: <JSON>` lines, a blank line after each event." };
        }
    }

    private static OpenApiSchema Binary(string description) =>
        new() { Type = JsonSchemaType.String, Format = "binary", Description = description };

    private static OpenApiSchema FormSchema((string Name, string Type, string Description)[] fields) => new()
    {
        Type = JsonSchemaType.Object,
        Required = new HashSet<string> { "file" },
        Properties = fields.ToDictionary(f => f.Name, f => (IOpenApiSchema)(f.Type == "binary"
            ? Binary(f.Description)
            : new OpenApiSchema
            {
                Type = f.Type switch { "integer" => JsonSchemaType.Integer, "boolean" => JsonSchemaType.Boolean, _ => JsonSchemaType.String },
                Description = f.Description,
            })),
    };
}
