using System.Reflection;
using NeuralService.Api.Hosting;
using NeuralService.Inference.Registry;

namespace NeuralService.Api.Endpoints;

/// <summary>KServe v2 liveness/readiness and server metadata.</summary>
public static class HealthEndpoints
{
    public static readonly string Version =
        typeof(HealthEndpoints).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    public sealed record AuthInfo(bool ApiKeys);
    public sealed record ServerMetadata(string Name, string Version, IReadOnlyList<string> Extensions);
    public sealed record Readiness(bool Ready, string? Reason = null);

    public static void MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        // The service's front page is its dashboard, whose header links the API documentation (/swagger) back.
        app.MapGet("/", () => Results.Redirect(Hosting.Dashboard.Path + "/")).ExcludeFromDescription();
        // The dashboard asks this to tell a read-only visitor (keys on, none given) before offering changes.
        app.MapGet("/v1/auth", (NeuralService.Api.Security.ApiKeys keys) => new AuthInfo(keys.Enabled))
            .WithTags("Health").WithName("AuthInfo").WithSummary("Whether changes need an API key")
            .WithDescription("api_keys: true when the server was started with NEURAL_API_KEYS, so every request that changes something needs X-Api-Key or a Bearer token. Reads and inference never do.");
        var g = app.MapGroup("/v2").WithTags("Health");
        g.MapGet("", () => new ServerMetadata("neural-service", Version, ["binary_tensor_data"]))
            .WithName("ServerMetadata").WithSummary("KServe v2 server metadata")
            .WithDescription("Server name, version and the protocol extensions it supports (binary_tensor_data).");
        g.MapGet("/health/live", () => Results.Ok(new Readiness(true))).WithName("Live").WithSummary("Liveness: the process is up")
            .WithDescription("Liveness probe: 200 while the process serves requests. Not rate limited.").Produces<Readiness>();
        g.MapGet("/health/ready", async (ModelRegistry registry, ModelPreloader preloader, CancellationToken ct) =>
            {
                if (preloader.NotReadyReason is { } loading) return Results.Json(new Readiness(false, loading), statusCode: 503);
                try
                {
                    // A pooled SQLite connection keeps answering from a deleted file, whose writes would be lost.
                    if (registry.Store is SqliteModelStore && !File.Exists(Path.Combine(registry.DataDirectory, ModelRegistry.DatabaseFileName)))
                        return Results.Json(new Readiness(false, $"{ModelRegistry.DatabaseFileName} is missing from {registry.DataDirectory}"), statusCode: 503);
                    await registry.Store.SchemaVersionAsync(ct);
                    return Results.Ok(new Readiness(true));
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    return Results.Json(new Readiness(false, $"storage unreachable: {e.Message}"), statusCode: 503);
                }
            })
            .WithName("Ready").WithSummary("Readiness: storage answers and preloaded models are loaded")
            .WithDescription("Readiness probe: 200 when the registry storage (SQLite file or PostgreSQL) answers and the models marked for preload (Neural:Preload, tag preload=true) are loaded; 503 with the reason otherwise. Not rate limited.")
            .Produces<Readiness>().Produces<Readiness>(503);
    }
}
