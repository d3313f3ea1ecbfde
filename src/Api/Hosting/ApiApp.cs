using System.Threading.RateLimiting;
using NeuralService.Api.Datasets;
using NeuralService.Api.Endpoints;
using NeuralService.Api.Errors;
using NeuralService.Api.Jobs;
using NeuralService.Api.Security;
using Prometheus;
using Serilog;
using Serilog.Formatting.Compact;

namespace NeuralService.Api.Hosting;

/// <summary>Builds the web app: options, logging, services, middleware and endpoint groups.</summary>
public static class ApiApp
{
    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddNeuralOptions(builder.Configuration);
        var options = builder.Configuration.GetSection(NeuralOptions.Section).Get<NeuralOptions>() ?? new NeuralOptions();
        var keys = ApiKeys.From(builder.Configuration);
        keys.CheckBinding(ConfiguredUrls(builder.Configuration));

        ConfigureLogging(builder, options);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = Math.Max(options.Limits.MaxRequestBytes, options.Limits.MaxUploadBytes));
        builder.Services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(f => f.MultipartBodyLengthLimit = options.Limits.MaxUploadBytes);

        builder.Services.AddSingleton(keys).AddSingleton<BindGuard>();
        builder.Services.AddTrustedProxies();
        // Binding failures (malformed JSON bodies…) go through ProblemMapping like every other error.
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<ProblemMapping>();
        builder.Services.AddEndpointsApiExplorer();
        builder.Services.AddSwaggerGen(OpenApi.OpenApiSetup.Configure);
        builder.Services.ConfigureHttpJsonOptions(j =>
        {
            j.SerializerOptions.PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower;
            j.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter(System.Text.Json.JsonNamingPolicy.SnakeCaseLower));
            // A diverged epoch's NaN loss is written "NaN" (as the job store does) instead of failing the response midway.
            j.SerializerOptions.NumberHandling |= System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals;
            // Request bodies are strict, as the OpenAPI schemas say (additionalProperties: false): a misspelt field
            // ("fit": {"epoch": 1}) is refused instead of silently training with defaults. Open members (Keras model
            // JSON, loss/metrics forms) are JsonElement and stay open.
            j.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
        });
        AddRateLimiting(builder.Services, options.RateLimit);
        builder.Services.AddNeuralCore();
        // Before the preloader and the job workers: they must not see what a crash left half-written.
        builder.Services.AddSingleton<Specs.SpecLibrary>();
        builder.Services.AddSingleton<StartupCleanup>().AddHostedService(sp => sp.GetRequiredService<StartupCleanup>());
        builder.Services.AddSingleton<ModelPreloader>().AddHostedService(sp => sp.GetRequiredService<ModelPreloader>());
        builder.Services.AddDatasets();
        builder.Services.AddJobs(builder.Configuration).AddJobWorkers();
        // Stopping: Kestrel stops accepting and drains in-flight requests while the workers checkpoint and requeue their jobs.
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = TimeSpan.FromSeconds(options.ShutdownSeconds));

        var app = builder.Build();
        var guard = app.Services.GetRequiredService<BindGuard>();
        app.Lifetime.ApplicationStarted.Register(guard.Check);
        app.UseMiddleware<BindGuardMiddleware>();
        // Before anything that reads the client's address (request log, rate limiter): from a trusted proxy only.
        // Not at all without trusted proxies: the middleware would believe any peer without an address (a Unix socket).
        if (options.TrustedProxies.Count > 0) app.UseForwardedHeaders();
        app.UseMiddleware<CorrelationIdMiddleware>();
        app.UseSerilogRequestLogging(o =>
        {
            // One line per request; the correlation id is in the message itself so every console format shows it.
            // The app's logger, not the static Log.Logger (left silent by preserveStaticLogger), which swallowed every line.
            o.Logger = app.Services.GetRequiredService<Serilog.ILogger>();
            o.MessageTemplate = "HTTP {RequestMethod} {RequestPath} responded {StatusCode} in {Elapsed:0.0} ms (client {ClientAddress}, correlation {CorrelationId})";
            o.EnrichDiagnosticContext = (diag, http) =>
            {
                diag.Set("CorrelationId", http.Items[CorrelationIdMiddleware.ItemKey] ?? "");
                diag.Set("ClientAddress", http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
            };
            // Probes and scrapes would drown the log: they are logged at Debug unless they fail.
            o.GetLevel = (http, _, error) =>
                error is not null || http.Response.StatusCode >= 500 ? Serilog.Events.LogEventLevel.Error
                : http.Request.Path.StartsWithSegments("/v2/health") || http.Request.Path.StartsWithSegments("/metrics") ? Serilog.Events.LogEventLevel.Debug
                : Serilog.Events.LogEventLevel.Information;
        });
        app.UseExceptionHandler();
        // Errors answered with an empty body (415, 404, 405 from routing, 413 from Kestrel) become problem details too.
        app.UseStatusCodePages(ProblemMapping.StatusCodePageAsync);
        app.UseSwagger();
        app.UseSwaggerUI();
        app.UseDashboard();
        app.UseRouting();
        app.UseHttpMetrics();
        app.UseRateLimiter();
        app.UseMiddleware<ApiKeyMiddleware>();
        app.UseMiddleware<BodySizeMiddleware>();

        app.MapHealthEndpoints();
        app.MapModelEndpoints();
        app.MapInferenceEndpoints();
        app.MapJobEndpoints();
        app.MapDatasetEndpoints();
        app.MapSpecEndpoints();
        app.MapMetrics("/metrics").DisableRateLimiting();
        return app;
    }

    private static IEnumerable<string> ConfiguredUrls(IConfiguration config) =>
        new[] { config["urls"], config["ASPNETCORE_URLS"] }
            .Concat(config.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]))
            .Where(u => !string.IsNullOrWhiteSpace(u))
            .SelectMany(u => u!.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static void ConfigureLogging(WebApplicationBuilder builder, NeuralOptions options)
    {
        var production = builder.Environment.IsProduction();
        // Replicas may share the data directory: one file per host, opened in shared mode for processes on one host.
        var logFile = Path.Combine(options.DataDirectory(), "logs", $"neural-{Environment.MachineName}-.log");
        builder.Host.UseSerilog((ctx, services, lc) =>
        {
            lc.ReadFrom.Configuration(ctx.Configuration)
                .MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft.AspNetCore", Serilog.Events.LogEventLevel.Warning)
                .Enrich.FromLogContext()
                .WriteTo.Sink(new JobLogSink(services))
                .WriteTo.File(new CompactJsonFormatter(), logFile, rollingInterval: RollingInterval.Day, retainedFileCountLimit: 14, shared: true);
            if (production) lc.WriteTo.Console(new RenderedCompactJsonFormatter());
            else lc.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj} {CorrelationId}{NewLine}{Exception}");
        }, preserveStaticLogger: true);
    }

    /// <summary>A valid API key is its own client; anything else counts by address, so made-up keys buy no extra quota. The
    /// address is the real client's: the forwarded-headers middleware has replaced a trusted proxy's with the one it forwarded.</summary>
    private static string ClientOf(HttpContext http)
    {
        var key = ApiKeys.Presented(http.Request);
        return key is not null && http.RequestServices.GetRequiredService<ApiKeys>().IsValid(key)
            ? "key:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)))
            : "ip:" + (http.Connection.RemoteIpAddress?.ToString() ?? "unknown");
    }

    private static void AddRateLimiting(IServiceCollection services, RateLimitOptions limits)
    {
        services.AddRateLimiter(r =>
        {
            r.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
                http.Request.Path.StartsWithSegments("/v2/health")
                    ? RateLimitPartition.GetNoLimiter("health")
                    : RateLimitPartition.GetFixedWindowLimiter(ClientOf(http),
                        _ => new FixedWindowRateLimiterOptions { PermitLimit = limits.PermitLimit, Window = TimeSpan.FromSeconds(limits.WindowSeconds), QueueLimit = 0 }));
            r.OnRejected = async (ctx, ct) =>
            {
                var retry = ctx.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? (int)Math.Ceiling(after.TotalSeconds) : limits.WindowSeconds;
                ctx.HttpContext.Response.Headers.RetryAfter = Math.Max(1, retry).ToString(System.Globalization.CultureInfo.InvariantCulture);
                await ProblemMapping.WriteAsync(ctx.HttpContext, 429, "Too many requests", $"rate limit of {limits.PermitLimit} requests per {limits.WindowSeconds} s exceeded");
            };
        });
    }
}
