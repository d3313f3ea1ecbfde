using System.Reflection;
using System.Text.Json.Serialization;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace NeuralService.Api.OpenApi;

/// <summary>Request objects are closed app-wide (unknown fields are a 400); a type marked
/// <c>[JsonUnmappedMemberHandling(Skip)]</c> takes keys of the client's own (the KServe <c>parameters</c> objects), and
/// its schema says so.</summary>
public sealed class OpenObjectsSchemaFilter : ISchemaFilter
{
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema s || context.Type.GetCustomAttribute<JsonUnmappedMemberHandlingAttribute>() is not { UnmappedMemberHandling: JsonUnmappedMemberHandling.Skip })
            return;
        s.AdditionalPropertiesAllowed = true;
        s.AdditionalProperties = null;
    }
}
