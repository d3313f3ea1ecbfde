using Microsoft.OpenApi;
using NeuralService.Api.Jobs;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace NeuralService.Api.OpenApi;

/// <summary>The job's <c>compile.loss</c>, <c>compile.metrics</c> and <c>compile.loss_weights</c> take Keras's per-output
/// forms (one value, a list in output order, an object by output name); their CLR type is a raw JSON element, so the
/// document spells the forms out here.</summary>
public sealed class CompileSchemaFilter : ISchemaFilter
{
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (context.Type != typeof(CompileOptions) || schema is not OpenApiSchema { Properties: { } properties }) return;
        Replace(properties, "loss", AnyOf(Nullable(String()), Array(String()), Map(String())));
        Replace(properties, "metrics", AnyOf(Nullable(Array(String())), Array(Array(String())), Map(AnyOf(String(), Array(String())))));
        Replace(properties, "loss_weights", AnyOf(Nullable(Array(Number())), Map(Number())));
    }

    private static void Replace(IDictionary<string, IOpenApiSchema> properties, string name, OpenApiSchema schema)
    {
        if (!properties.TryGetValue(name, out var old)) return;
        schema.Description = old.Description;
        properties[name] = schema;
    }

    private static OpenApiSchema String() => new() { Type = JsonSchemaType.String };
    private static OpenApiSchema Number() => new() { Type = JsonSchemaType.Number, Format = "double", Minimum = "0" };
    private static OpenApiSchema Array(OpenApiSchema items) => new() { Type = JsonSchemaType.Array, Items = items };
    private static OpenApiSchema Map(OpenApiSchema values) => new() { Type = JsonSchemaType.Object, AdditionalProperties = values };
    private static OpenApiSchema AnyOf(params OpenApiSchema[] forms) => new() { AnyOf = [.. forms] };

    private static OpenApiSchema Nullable(OpenApiSchema s)
    {
        s.Type |= JsonSchemaType.Null;
        return s;
    }
}
