using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace NeuralService.Api.OpenApi;

/// <summary>Puts an example on every JSON request and response body (from <see cref="OpenApiExamples"/>, passed
/// through the endpoint's own type and the app's JSON options), on multipart forms and on the job event stream.</summary>
public sealed class ExamplesFilter(IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json) : IOperationFilter
{
    private readonly JsonSerializerOptions _options = json.Value.SerializerOptions;
    // The hand-written KServe bodies leave absent members out instead of writing null.
    private readonly JsonSerializerOptions _kserve = new(json.Value.SerializerOptions) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var api = context.ApiDescription;
        if (operation.RequestBody is OpenApiRequestBody { Content: { } content })
        {
            var bodyType = api.ParameterDescriptions.FirstOrDefault(p => p.Source == BindingSource.Body)?.Type
                ?? api.ActionDescriptor.EndpointMetadata.OfType<IAcceptsMetadata>().FirstOrDefault()?.RequestType;
            if (bodyType is not null && content.TryGet("application/json", out var media)) media.Example = Example(bodyType, 0);
            if (content.TryGet(RequestBodiesFilter.Multipart, out var form) && operation.OperationId is { } id && OpenApiExamples.Form(id) is { } fields)
                form.Example = JsonNode.Parse(fields);
        }

        foreach (var (key, response) in operation.Responses ?? [])
        {
            if (response is not OpenApiResponse { Content: { } media } || !int.TryParse(key, out var status)) continue;
            var type = api.SupportedResponseTypes.FirstOrDefault(t => t.StatusCode == status)?.Type;
            if (type is not null && type != typeof(void) && media.TryGet("application/json", out var body)) body.Example = Example(type, status);
            if (media.TryGet("text/event-stream", out var events)) events.Example = JsonValue.Create(OpenApiExamples.JobEvents);
        }
    }

    /// <summary>The catalog's example read as <paramref name="type"/> and written back as the service writes it; a list
    /// type gets a one-element array.</summary>
    private JsonNode? Example(Type type, int status)
    {
        var element = ElementType(type);
        if (OpenApiExamples.For(element ?? type, status) is not { } text) return null;
        var value = JsonSerializer.Deserialize(text, element ?? type, _options)
            ?? throw new InvalidOperationException($"the OpenAPI example for {type.Name} is null");
        var options = (element ?? type).Namespace == typeof(InferenceRequest).Namespace ? _kserve : _options;
        var node = JsonSerializer.SerializeToNode(value, element ?? type, options);
        return element is null ? node : new JsonArray(node);
    }

    private static Type? ElementType(Type type) =>
        type == typeof(string) ? null
        : type.IsArray ? type.GetElementType()
        : type.GetInterfaces().Append(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];
}
