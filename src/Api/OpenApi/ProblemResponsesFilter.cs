using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;
using NeuralService.Api.Security;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace NeuralService.Api.OpenApi;

/// <summary>Documents the errors the middleware adds to every endpoint, decided by the same rules the middleware
/// applies: 401/403 (<see cref="ApiKeyMiddleware"/>: mutating and not read-only), 429 (the rate limiter: all but
/// <c>/v2/health</c>), 413 (<c>BodySizeMiddleware</c>: any body), 415 (routing refuses a body of an undeclared media
/// type), 500 (the exception handler).
/// Every error response then gets the problem details media type, a description and an example.</summary>
public sealed class ProblemResponsesFilter : IOperationFilter
{
    public const string ProblemJson = "application/problem+json";

    /// <summary>Title (as <c>ProblemMapping</c> writes it), what the status means here, an example detail. A 415 comes
    /// from routing with an empty body, which the status code pages turn into a problem without detail.</summary>
    public static readonly IReadOnlyDictionary<int, (string Title, string Meaning, string? Detail)> Problems = new Dictionary<int, (string, string, string?)>
    {
        [400] = ("Bad request", "The request is malformed: invalid JSON, a missing or invalid field or parameter, tensor data that does not fit its shape, an unreadable data file or an invalid name.",
            "the request needs an 'inputs' array"),
        [401] = ("Unauthorized", "The server has API keys (NEURAL_API_KEYS) and the request presents none that is valid: send X-Api-Key: <key> or Authorization: Bearer <key>.",
            "this request needs an API key: X-Api-Key: <key> or Authorization: Bearer <key>"),
        [403] = ("Forbidden", "The request presents an API key that is not one of the server's keys (NEURAL_API_KEYS).",
            "the API key presented is not one of this server's keys (NEURAL_API_KEYS)"),
        [404] = ("Not found", "The model, version, alias, job or dataset named in the path or body does not exist.", "no model named 'mlp'"),
        [409] = ("Conflict", "The current state forbids it: an alias still points at the version or model, the job already ended, or the dataset is built in.",
            "mlp/1 is aliased as production; move or remove the alias first"),
        [413] = ("Payload too large", "The body is over Neural:Limits:MaxRequestBytes (Neural:Limits:MaxUploadBytes for model and dataset uploads), or a tensor declares too many elements.",
            "the request body has 104857600 bytes; the limit here is 67108864"),
        [415] = ("Unsupported Media Type", "The body's Content-Type is none of the media types listed for this request body.", null),
        [422] = ("Unprocessable entity", "The request is well-formed but cannot be carried out: the model fails to run on these inputs, or the model definition or a setting is not supported.",
            "mlp/1 failed to run: [ErrorCode:InvalidArgument] Got invalid dimensions for input"),
        [429] = ("Too many requests", "The rate limit (Neural:RateLimit) is exhausted, or the inference batch queue or the training job queue is full. Retry after Retry-After seconds.",
            "rate limit of 100 requests per 1 s exceeded"),
        [500] = ("Internal server error", "An unexpected error; the details are in the server log, under the response's correlation id.",
            "an unexpected error occurred; see the server log"),
    };

    public void Apply(OpenApiOperation operation, OperationFilterContext context)
    {
        var api = context.ApiDescription;
        var metadata = api.ActionDescriptor.EndpointMetadata;
        var path = "/" + (api.RelativePath ?? "").Split('?')[0];
        operation.Responses ??= new OpenApiResponses();

        var wanted = new List<int> { 500 };
        if (NeedsApiKey(api.HttpMethod, metadata))
        {
            wanted.AddRange([401, 403]);
            operation.Security =
            [
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(OpenApiSetup.ApiKeyScheme, context.Document)] = [] },
                new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(OpenApiSetup.BearerScheme, context.Document)] = [] },
            ];
        }
        if (!path.StartsWith("/v2/health", StringComparison.Ordinal)) wanted.Add(429);
        // A declared body means routing matches on Content-Type (415 for any other media type), a size check and parsing.
        if (operation.RequestBody is not null) wanted.AddRange([400, 413, 415]);

        var problemSchema = context.SchemaGenerator.GenerateSchema(typeof(ProblemDetails), context.SchemaRepository);
        foreach (var status in wanted.Distinct())
        {
            var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (!operation.Responses.ContainsKey(key))
                operation.Responses[key] = new OpenApiResponse { Content = new Dictionary<string, IOpenApiMediaType> { [ProblemJson] = new OpenApiMediaType { Schema = problemSchema } } };
        }

        foreach (var (key, response) in operation.Responses)
        {
            if (response is not OpenApiResponse r || r.Content is null || !r.Content.TryGet(ProblemJson, out var media)) continue;
            if (!int.TryParse(key, out var status) || !Problems.TryGetValue(status, out var p)) continue;
            r.Description = p.Meaning;
            media.Example = Example(status, p.Title, p.Detail);
            if (status == 401) AddHeader(r, "WWW-Authenticate", "Bearer", JsonSchemaType.String);
            if (status == 429) AddHeader(r, "Retry-After", "Seconds to wait before retrying.", JsonSchemaType.Integer);
        }
    }

    /// <summary>The rule of <see cref="ApiKeyMiddleware"/>: anything but GET, HEAD and OPTIONS, unless marked read-only.</summary>
    public static bool NeedsApiKey(string? method, IList<object> metadata) =>
        !(HttpMethods.IsGet(method ?? "GET") || HttpMethods.IsHead(method ?? "") || HttpMethods.IsOptions(method ?? ""))
        && !metadata.OfType<ReadOnlyEndpointAttribute>().Any();

    public static JsonObject Example(int status, string title, string? detail)
    {
        var example = new JsonObject
        {
            ["type"] = status == 415 ? "https://tools.ietf.org/html/rfc9110#section-15.5.16" : $"https://httpstatuses.io/{status}",
            ["title"] = title,
            ["status"] = status,
        };
        if (detail is not null) example["detail"] = detail;
        example["trace_id"] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        return example;
    }

    private static void AddHeader(OpenApiResponse r, string name, string description, JsonSchemaType type)
    {
        r.Headers ??= new Dictionary<string, IOpenApiHeader>();
        r.Headers[name] = new OpenApiHeader { Description = description, Schema = new OpenApiSchema { Type = type } };
    }
}
