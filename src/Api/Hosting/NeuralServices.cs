using Microsoft.Extensions.Options;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Import;
using NeuralService.Inference.Registry;

namespace NeuralService.Api.Hosting;

/// <summary>Opens the registry and the inference engine once per app, from the validated options.</summary>
public static class NeuralServices
{
    /// <summary>Binds and validates <c>Neural:*</c> at start-up; <c>NEURAL_DATA_DIR</c> names the data directory unless
    /// <c>Neural:DataDirectory</c> is set explicitly.</summary>
    public static IServiceCollection AddNeuralOptions(this IServiceCollection services, ConfigurationManager config)
    {
        if (config[$"{NeuralOptions.Section}:DataDirectory"] is null && config["NEURAL_DATA_DIR"] is { Length: > 0 } dir)
            config[$"{NeuralOptions.Section}:DataDirectory"] = dir;
        services.AddOptions<NeuralOptions>().Bind(config.GetSection(NeuralOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        return services;
    }

    public static IServiceCollection AddNeuralCore(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<NeuralOptions>>().Value;
            var dir = Path.GetFullPath(o.DataDirectory);
            var limits = new ImportLimits { MaxModelMemoryBytes = o.MaxModelMemoryBytes };
            var registry = o.Storage.Provider == "postgres"
                ? ModelRegistry.OpenPostgresAsync(o.Storage.ConnectionString!, dir, limits).GetAwaiter().GetResult()
                : ModelRegistry.OpenSqliteAsync(dir, limits).GetAwaiter().GetResult();
            registry.ServingResolveTtl = TimeSpan.FromMilliseconds(o.ServingResolveTtlMs);
            return registry;
        });
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<NeuralOptions>>().Value;
            var log = sp.GetRequiredService<ILoggerFactory>().CreateLogger<InferenceEngine>();
            return new InferenceEngine(sp.GetRequiredService<ModelRegistry>(), new EngineOptions
            {
                UseCuda = o.UseCuda,
                MaxModelMemoryBytes = o.MaxModelMemoryBytes,
                CacheBytes = o.SessionCacheBytes,
                Batching = new BatchingOptions
                {
                    MaxBatchSize = o.Batcher.MaxBatchSize,
                    MaxQueueDelay = TimeSpan.FromMilliseconds(o.Batcher.MaxQueueDelayMs),
                    QueueCapacity = o.Batcher.QueueCapacity,
                },
                Log = message => log.LogInformation("{Message}", message),
            });
        });
        return services;
    }

    /// <summary>The data directory as an absolute path.</summary>
    public static string DataDirectory(this NeuralOptions o) => Path.GetFullPath(o.DataDirectory);
}
