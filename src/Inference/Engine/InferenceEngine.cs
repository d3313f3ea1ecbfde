using Microsoft.ML.OnnxRuntime;
using NeuralService.Inference.Import;
using NeuralService.Inference.Registry;

namespace NeuralService.Inference.Engine;

public sealed record EngineOptions
{
    /// <summary>Bound of the session cache, counted as the sum of the loaded models' measured memory
    /// (<see cref="ModelRunner.MemoryBytes"/>); least recently used models are unloaded to stay under it.</summary>
    public long CacheBytes { get; init; } = 4L << 30;
    /// <summary>Most memory one model may take: its constants (checked before ONNX Runtime sees the file) and the
    /// native memory its load and a first run took. A model over it is refused with <see cref="ModelMemoryException"/>.</summary>
    public long MaxModelMemoryBytes { get; init; } = 2L << 30;
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
    /// <summary>Files refused for memory, by SHA-256, with the reason.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _refused = new(StringComparer.Ordinal);
    private static readonly object MeasureGate = new();

    public InferenceEngine(ModelRegistry registry, EngineOptions? options = null)
    {
        _registry = registry;
        _options = options ?? new EngineOptions();
        _options.Batching.Validate();
        if (_options.CacheBytes < 1) throw new ArgumentOutOfRangeException(nameof(options), _options.CacheBytes, "CacheBytes must be positive");
        if (_options.MaxModelMemoryBytes < 1 || _options.MaxModelMemoryBytes > _options.CacheBytes)
            throw new ArgumentOutOfRangeException(nameof(options), _options.MaxModelMemoryBytes,
                $"MaxModelMemoryBytes must be positive and at most CacheBytes ({_options.CacheBytes}), got {_options.MaxModelMemoryBytes}");
    }

    /// <summary>Versions currently loaded, most recently used first.</summary>
    public IReadOnlyList<string> LoadedVersions
    {
        get { lock (_lock) return _lru.Select(e => e.Key).ToList(); }
    }

    /// <summary>The cache's size: measured memory of the loaded models (file size for those still loading).</summary>
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
        if (stale is not null) _ = Release(stale);
        try
        {
            var runner = await entry.Runner.Value.WaitAsync(ct);
            lock (_lock) entry.Bytes = runner.MemoryBytes;
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
    public void Unload(string model, int? version = null) => _ = UnloadAsync(model, version);

    /// <summary><see cref="Unload"/>, completing once the unloaded sessions are released.</summary>
    public Task UnloadAsync(string model, int? version = null)
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
        foreach (var e in removed) _options.Log?.Invoke($"unloading {e.Key} (deleted)");
        foreach (var e in removed) _refused.TryRemove(e.Sha256, out _);
        return Task.WhenAll(removed.Select(Release));
    }

    private static (string Model, int Version) SplitKey(string key)
    {
        var slash = key.LastIndexOf('/');
        return (key[..slash], int.Parse(key[(slash + 1)..], System.Globalization.CultureInfo.InvariantCulture));
    }

    private static Task Release(Entry e)
    {
        if (!e.Runner.IsValueCreated) return Task.CompletedTask;
        return e.Runner.Value.ContinueWith(t => { if (t.IsCompletedSuccessfully) return t.Result.DisposeAsync().AsTask(); return Task.CompletedTask; },
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
            _options.Log?.Invoke($"unloading {e.Key} ({e.Bytes} bytes; session cache over {_options.CacheBytes} bytes)");
            // Queued requests finish first; the session is disposed after.
            _ = e.Runner.Value.Result.DisposeAsync().AsTask();
        }
    }

    private ModelRunner Load(ModelVersion version)
    {
        // A refused model would take the same memory again on every request that names it.
        if (_refused.TryGetValue(version.Sha256, out var refusal)) throw new ModelMemoryException(refusal);
        var path = _registry.FilePath(version);
        var constants = ConstantBytes(version, path);
        ModelRunner runner;
        long measured;
        // One load at a time in the process, so the growth measured is this model's.
        lock (MeasureGate)
        {
            // The process-wide ONNX Runtime environment is created with the first session: not this model's cost.
            _ = OrtEnv.Instance();
            var options = SessionOptionsFor();
            var before = NativeMemory.InUseBytes();
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
            runner = new ModelRunner(version, session, _options.Batching);
            if (_options.WarmUp) runner.WarmUp(_options.Log);
            measured = NativeMemory.InUseBytes() - before;
        }
        runner.MemoryBytes = Math.Max(measured, Math.Max(constants, version.SizeBytes));
        if (runner.MemoryBytes > _options.MaxModelMemoryBytes)
        {
            runner.DisposeAsync().AsTask().GetAwaiter().GetResult();
            Refuse(version, $"{version} took {runner.MemoryBytes} bytes of memory to load and run once, over the "
                + $"{_options.MaxModelMemoryBytes}-byte model memory budget (Neural:MaxModelMemoryBytes); it is not served");
        }
        _options.Log?.Invoke($"loaded {version}: {runner.MemoryBytes} bytes (measured {measured}, constants {constants}, file {version.SizeBytes})");
        return runner;
    }

    /// <summary>What the graph's constants need (<see cref="ConstantMemory"/>), checked before ONNX Runtime folds them:
    /// a model stored before the budget existed, or under a larger one, must not get to allocate it.</summary>
    private long ConstantBytes(ModelVersion version, string path)
    {
        Onnx.ModelProto model;
        try
        {
            using var file = File.OpenRead(path);
            model = Onnx.ModelProto.Parser.ParseFrom(file);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new InvalidModelException($"{version} cannot be loaded: {e.Message}", e);
        }
        var estimate = ConstantMemory.Of(model);
        if (estimate.Bytes > _options.MaxModelMemoryBytes)
            Refuse(version, $"{version} needs at least {estimate.Bytes:0} bytes of memory for its constants, over the {_options.MaxModelMemoryBytes}-byte "
                + $"model memory budget (Neural:MaxModelMemoryBytes); the largest is {estimate.Largest}, {estimate.LargestBytes:0} bytes");
        return (long)Math.Min(estimate.Bytes, long.MaxValue);
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void Refuse(ModelVersion version, string message)
    {
        _refused[version.Sha256] = message;
        _options.Log?.Invoke(message);
        throw new ModelMemoryException(message);
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

    private sealed class Entry(string Key, string Sha256, long Bytes, Lazy<Task<ModelRunner>> Runner)
    {
        public string Key { get; } = Key;
        public string Sha256 { get; } = Sha256;
        /// <summary>The file size until loaded, then the measured memory.</summary>
        public long Bytes { get; set; } = Bytes;
        public Lazy<Task<ModelRunner>> Runner { get; } = Runner;
    }
}
