using Microsoft.OpenApi;
using NeuralService.Api.Endpoints;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace NeuralService.Api.OpenApi;

/// <summary>The OpenAPI document at <c>/swagger/v1/swagger.json</c>: its info, the two ways to present an API key, and
/// the filters that add what endpoint metadata cannot say (middleware errors, binary and multipart bodies, examples).</summary>
public static class OpenApiSetup
{
    public const string ApiKeyScheme = "ApiKey";
    public const string BearerScheme = "Bearer";

    public static void Configure(SwaggerGenOptions o)
    {
        o.SwaggerDoc("v1", new OpenApiInfo
        {
            Title = "NeuralService",
            Version = HealthEndpoints.Version,
            Description = """
                Model registry, KServe v2 (Open Inference Protocol) inference with the binary tensor extension, training jobs
                and datasets. Errors are RFC 7807 problem details (`application/problem+json`).

                **Dashboard**: [/ui/](/ui/) shows the jobs (live curves, log) and the registry's models in the browser.

                **Authentication**: when the server runs with API keys (`NEURAL_API_KEYS`), every mutating request (POST, PUT,
                DELETE; inference and `:predict` excepted) needs `X-Api-Key: <key>` or `Authorization: Bearer <key>`.
                Reads never need a key.

                **Rate limit**: a fixed window per API key (or per client address without a valid key), `Neural:RateLimit`;
                health endpoints are exempt. Refused requests get 429 with `Retry-After`.
                """,
        });
        o.AddSecurityDefinition(ApiKeyScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.ApiKey,
            In = ParameterLocation.Header,
            Name = "X-Api-Key",
            Description = "One of the keys in NEURAL_API_KEYS.",
        });
        o.AddSecurityDefinition(BearerScheme, new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "The same API key as a bearer token: Authorization: Bearer <key>.",
        });
        // Nullable annotations decide what may be null; allOf wrappers let a nullable reference say so in OpenAPI 3.0.
        o.SupportNonNullableReferenceTypes();
        o.UseAllOfToExtendReferenceSchemas();
        // Bodies first: the problem and example filters describe the media types the body filter settles.
        o.OperationFilter<RequestBodiesFilter>();
        o.OperationFilter<ProblemResponsesFilter>();
        o.OperationFilter<ExamplesFilter>();
        o.OperationFilter<PagingParametersFilter>();
        o.SchemaFilter<CompileSchemaFilter>();
        o.SchemaFilter<OpenObjectsSchemaFilter>();
    }
}
