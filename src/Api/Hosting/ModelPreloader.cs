using Microsoft.Extensions.Options;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;

namespace NeuralService.Api.Hosting;

/// <summary>Loads the models marked for preload — <c>Neural:Preload</c> entries (<c>name</c> or <c>name:version-or-alias</c>)
/// and every version tagged <c>preload=true</c> — into the inference engine at start, so the first request does not pay
/// for session creation. It runs as part of start-up, so readiness (and the test hosts) see it done or failed.</summary>
public sealed class ModelPreloader(ModelRegistry registry, InferenceEngine engine, IOptions<NeuralOptions> options, ILogger<ModelPreloader> log)
    : IHostedService
{
    public const string Tag = "preload";
    private volatile string? _notReady = "models marked for preload are loading";

    /// <summary>Null once every preload is in the engine; otherwise why the service is not ready.</summary>
    public string? NotReadyReason => _notReady;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartAsync(CancellationToken stoppingToken)
    {
        try
        {
            var versions = new List<ModelVersion>();
            foreach (var entry in options.Value.Preload)
            {
                var (name, reference) = entry.Split(':', 2) is [var n, var r] ? (n, r) : (entry, null);
                versions.Add(await registry.ResolveAsync(name, reference, stoppingToken));
            }
            foreach (var model in await registry.ListModelsAsync(stoppingToken))
                versions.AddRange((await registry.ListVersionsAsync(model.Name, stoppingToken))
                    .Where(v => v.Tags.TryGetValue(Tag, out var t) && t == "true"));
            foreach (var v in versions.DistinctBy(v => v.ToString()))
            {
                await engine.GetRunnerAsync(v, stoppingToken);
                log.LogInformation("preloaded {Version}", v.ToString());
            }
            _notReady = null;
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        catch (Exception e)
        {
            _notReady = $"preloading failed: {e.Message}";
            log.LogError(e, "preloading models failed; the service stays not ready");
        }
    }
}
