using Microsoft.ML.OnnxRuntime;
using NeuralService.Inference.Registry;

namespace NeuralService.Inference.Engine;

public sealed record EngineOptions
{
    /// <summary>Bound of the session cache, counted as the sum of loaded model file sizes.</summary>
    public long CacheBytes { get; init; } = 4L << 30;
    public BatchingOptions Batching { get; init; } = new();
    /// <summary>Try the CUDA execution provider first (falls back to CPU with one log line).</summary>
    public bool UseCuda { get; init; } = true;
    /// <summary>ONNX Runtime intra-op threads per session; 0 lets ONNX Runtime decide.</summary>
    public int IntraOpThreads { get; init; }
    public GraphOptimizationLevel Optimization { get; init; } = GraphOptimizationLevel.ORT_ENABLE_ALL;
    public bool WarmUp { get; init; } = true;
    /// <summary>ONNX Runtime's own log threshold for sessions (it writes to stderr).</summary>
    public OrtLoggingLevel OrtLogLevel { get; init; } = OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING;
    public Action<string>? Log { get; init; } = message => Console.Error.WriteLine($"[inference] {message}");
}

/// <summary>Serves inference for registered model versions: validates inputs against the signature, queues them on
/// the version's <see cref="DynamicBatcher"/>, and keeps loaded sessions in a bounded least-recently-used cache.</summary>
public sealed class InferenceEngine : IAsyncDisposable
{
    private readonly ModelRegistry _registry;
    private readonly EngineOptions _options;
    private readonly object _lock = new();
    private readonly Dictionary<string, LinkedListNode<Entry>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<Entry> _lru = new(); // most recently used first
    private int _cudaState; // 0 untried, 1 available, -1 unavailable

    public InferenceEngine(ModelRegistry registry, EngineOptions? options = null)
    {
        _registry = registry;
        _options = options ?? new EngineOptions();
        _options.Batching.Validate();
        if (_options.CacheBytes < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.CacheBytes, "CacheBytes must be positive");
    }

    /// <summary>Versions currently loaded, most recently used first.</summary>
    public IReadOnlyList<string> LoadedVersions
    {
        get { lock (_lock) return _lru.Select(e => e.Key).ToList(); }
    }

    public long LoadedBytes
    {
        get { lock (_lock) return _lru.Sum(e => e.Bytes); }
    }

    /// <summary>Whether sessions run on CUDA (known after the first load).</summary>
    public bool? UsesCuda => _cudaState == 0 ? null : _cudaState == 1;

    /// <summary>Runs one request on a version given by number, alias or <c>latest</c>.</summary>
    public async Task<IReadOnlyList<NamedTensor>> InferAsync(string model, string? reference, IReadOnlyList<NamedTensor> inputs, CancellationToken ct = default) =>
        await InferAsync(await _registry.ResolveForServingAsync(model, reference, ct), inputs, ct);

    public async Task<IReadOnlyList<NamedTensor>> InferAsync(ModelVersion version, IReadOnlyList<NamedTensor> inputs, CancellationToken ct = default)
    {
        var ordered = InputValidator.Validate(version.Signature, inputs);
        for (var attempt = 0; ; attempt++)
        {
            var runner = await GetRunnerAsync(version, ct);
            try
            {
                return await runner.Batcher.SubmitAsync(ordered, ct);
            }
            catch (ObjectDisposedException) when (attempt < 3)
            {
                // Evicted between lookup and submit: load it again.
            }
        }
    }

    /// <summary>The loaded runner of a version, loading (and evicting others) if needed.</summary>
    public async Task<ModelRunner> GetRunnerAsync(ModelVersion version, CancellationToken ct = default)
    {
        var key = version.ToString();
        Entry entry;
        Entry? stale = null;
        lock (_lock)
        {
            if (_entries.TryGetValue(key, out var node) && node.Value.Sha256 == version.Sha256)
            {
                _lru.Remove(node);
                _lru.AddFirst(node);
                entry = node.Value;
            }
            else
            {
                // A loaded entry under this key with another file is a model deleted elsewhere and its name reused:
                // it must never answer for the new file.
                if (node is not null) { _lru.Remove(node); stale = node.Value; }
                entry = new Entry(key, version.Sha256, version.SizeBytes, new Lazy<Task<ModelRunner>>(() => Task.Run(() => Load(version))));
                _entries[key] = _lru.AddFirst(entry);
            }
        }
        if (stale is not null) Release(stale);
        try
        {
            var runner = await entry.Runner.Value.WaitAsync(ct);
            EvictOverflow(key);
            return runner;
        }
        catch (Exception) when (entry.Runner.Value.IsFaulted)
        {
            lock (_lock)
                if (_entries.TryGetValue(key, out var node) && node.Value == entry) { _entries.Remove(key); _lru.Remove(node); }
            throw;
        }
    }

    /// <summary>Unloads every loaded version of <paramref name="model"/> (or only <paramref name="version"/>), so a
    /// deleted model stops being served at once. Requests already queued on a batcher finish first.</summary>
    public void Unload(string model, int? version = null)
    {
        var removed = new List<Entry>();
        lock (_lock)
        {
            for (var node = _lru.First; node is not null;)
            {
                var next = node.Next;
                var (m, v) = SplitKey(node.Value.Key);
                if (m == model && (version is null || v == version))
                {
                    _lru.Remove(node);
                    _entries.Remove(node.Value.Key);
                    removed.Add(node.Value);
                }
                node = next;
            }
        }
        foreach (var e in removed)
        {
            _options.Log?.Invoke($"unloading {e.Key} (deleted)");
            Release(e);
        }
    }

    private static (string Model, int Version) SplitKey(string key)
    {
        var slash = key.LastIndexOf('/');
        return (key[..slash], int.Parse(key[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static void Release(Entry e)
    {
        if (!e.Runner.IsValueCreated) return;
        _ = e.Runner.Value.ContinueWith(t => { if (t.IsCompletedSuccessfully) return t.Result.DisposeAsync().AsTask(); return Task.CompletedTask; },
            TaskScheduler.Default).Unwrap();
    }

    private void EvictOverflow(string keep)
    {
        var evicted = new List<Entry>();
        lock (_lock)
        {
            var total = _lru.Sum(e => e.Bytes);
            for (var node = _lru.Last; node is not null && total > _options.CacheBytes;)
            {
                var previous = node.Previous;
                if (node.Value.Key != keep && node.Value.Runner.IsValueCreated && node.Value.Runner.Value.IsCompletedSuccessfully)
                {
                    _lru.Remove(node);
                    _entries.Remove(node.Value.Key);
                    total -= node.Value.Bytes;
                    evicted.Add(node.Value);
                }
                node = previous;
            }
        }
        foreach (var e in evicted)
        {
            _options.Log?.Invoke($"unloading {e.Key} (session cache over {_options.CacheBytes} bytes)");
            // Queued requests finish first; the session is disposed after.
            _ = e.Runner.Value.Result.DisposeAsync().AsTask();
        }
    }

    private ModelRunner Load(ModelVersion version)
    {
        var path = _registry.FilePath(version);
        var options = SessionOptionsFor();
        InferenceSession session;
        try
        {
            session = new InferenceSession(path, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidModelException($"{version} cannot be loaded: {e.Message}", e);
        }
        finally
        {
            options.Dispose();
        }
        var runner = new ModelRunner(version, session, _options.Batching, version.SizeBytes);
        if (_options.WarmUp) runner.WarmUp(_options.Log);
        return runner;
    }

    private SessionOptions SessionOptionsFor()
    {
        var options = new SessionOptions { GraphOptimizationLevel = _options.Optimization, LogSeverityLevel = _options.OrtLogLevel };
        if (_options.IntraOpThreads > 0) options.IntraOpNumThreads = _options.IntraOpThreads;
        if (_options.UseCuda && _cudaState >= 0)
        {
            try
            {
                options.AppendExecutionProvider_CUDA(0);
                _cudaState = 1;
            }
            catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
            {
                if (Interlocked.Exchange(ref _cudaState, -1) != -1)
                    _options.Log?.Invoke($"CUDA execution provider unavailable, running on CPU: {e.Message}");
            }
        }
        return options;
    }

    public async ValueTask DisposeAsync()
    {
        List<Entry> all;
        lock (_lock)
        {
            all = _lru.ToList();
            _lru.Clear();
            _entries.Clear();
        }
        foreach (var e in all)
        {
            if (!e.Runner.IsValueCreated) continue;
            try { await (await e.Runner.Value).DisposeAsync(); }
            catch (Exception) when (e.Runner.Value.IsFaulted) { }
        }
    }

    private sealed record Entry(string Key, string Sha256, long Bytes, Lazy<Task<ModelRunner>> Runner);
}
