using Microsoft.ML.OnnxRuntime;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;

namespace NeuralService.Inference.Tests.Support;

/// <summary>A SQLite registry in a temp directory with an engine on top (CPU, 1 thread per session).</summary>
public sealed class EngineFixture : IAsyncDisposable
{
    private readonly TempDirectory _data = new();

    private EngineFixture() { }

    public ModelRegistry Registry { get; private set; } = null!;
    public InferenceEngine Engine { get; private set; } = null!;
    public List<string> Log { get; } = [];

    public static async Task<EngineFixture> CreateAsync(BatchingOptions? batching = null, long cacheBytes = 1L << 30,
        OrtLoggingLevel ortLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, long? maxModelMemoryBytes = null)
    {
        var f = new EngineFixture();
        f.Registry = await ModelRegistry.OpenSqliteAsync(f._data.Path);
        f.Engine = new InferenceEngine(f.Registry, new EngineOptions
        {
            Batching = batching ?? new BatchingOptions(),
            CacheBytes = cacheBytes,
            MaxModelMemoryBytes = maxModelMemoryBytes ?? cacheBytes,
            IntraOpThreads = 1,
            OrtLogLevel = ortLogLevel,
            Log = m => { lock (f.Log) f.Log.Add(m); },
        });
        return f;
    }

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        Registry.Dispose();
        _data.Dispose();
    }
}
