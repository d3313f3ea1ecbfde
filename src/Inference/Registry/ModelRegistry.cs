using System.Globalization;
using Google.Protobuf;
using NeuralService.Inference.Import;
using Onnx;

namespace NeuralService.Inference.Registry;

/// <summary>What to record with a new version besides the file.</summary>
public sealed record RegisterOptions
{
    public string? Description { get; init; }
    public Lineage? Lineage { get; init; }
    public IReadOnlyDictionary<string, string>? Tags { get; init; }
}

/// <summary>The model registry: metadata in an <see cref="IModelStore"/>, files in a <see cref="BlobStore"/> under one
/// data directory. A version's file is durably in place before its metadata commits, and removed only after its
/// metadata is gone, so every committed version always has its file; <see cref="OpenAsync"/> migrates the schema
/// and removes what interrupted writes left behind. Several processes may share a data directory (replicas on one
/// volume, with PostgreSQL metadata): while others are present (<see cref="DataDirectoryPresence"/>) recent files are
/// left alone.</summary>
public sealed class ModelRegistry : IDisposable
{
    public const string DatabaseFileName = "registry.db";
    // Serialises "file in place → metadata" against "metadata gone → file removed" for files shared by equal content.
    private readonly SemaphoreSlim _fileLock = new(1, 1);

    /// <summary>A file written this recently may belong to another process's registration in progress.</summary>
    private static readonly TimeSpan SharedWriteGrace = TimeSpan.FromMinutes(10);
    private readonly DataDirectoryPresence _presence;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Model, string Reference), (ModelVersion Version, long ExpiresAt)> _resolved = new();

    private ModelRegistry(IModelStore store, BlobStore blobs, OnnxImporter importer, DataDirectoryPresence presence)
    {
        Store = store;
        Blobs = blobs;
        Importer = importer;
        _presence = presence;
    }

    public IModelStore Store { get; }
    public BlobStore Blobs { get; }
    public OnnxImporter Importer { get; }
    public string DataDirectory => Blobs.Root;

    /// <summary>The embedded default: <c>registry.db</c> and the model files, all inside <paramref name="dataDirectory"/>.</summary>
    public static Task<ModelRegistry> OpenSqliteAsync(string dataDirectory, ImportLimits? limits = null, CancellationToken ct = default)
    {
        Directory.CreateDirectory(dataDirectory);
        return OpenAsync(new SqliteModelStore(Path.Combine(dataDirectory, DatabaseFileName)), dataDirectory, limits, ct);
    }

    public static Task<ModelRegistry> OpenPostgresAsync(string connectionString, string dataDirectory, ImportLimits? limits = null, CancellationToken ct = default) =>
        OpenAsync(new PostgresModelStore(connectionString), dataDirectory, limits, ct);

    public static async Task<ModelRegistry> OpenAsync(IModelStore store, string dataDirectory, ImportLimits? limits = null, CancellationToken ct = default)
    {
        try
        {
            await store.MigrateAsync(ct);
            var registry = new ModelRegistry(store, new BlobStore(dataDirectory), new OnnxImporter(limits), new DataDirectoryPresence(dataDirectory));
            var referenced = (await store.AllVersionsAsync(ct)).Select(v => v.Sha256).ToHashSet(StringComparer.Ordinal);
            registry.Blobs.CleanUp(referenced, registry._presence.OthersPresent() ? DateTime.UtcNow - SharedWriteGrace : null);
            return registry;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    // ---- registering ----

    /// <summary>Imports an external ONNX file (untrusted): all import checks apply; its external data may only come
    /// from its own directory and is inlined.</summary>
    public Task<ModelVersion> ImportAsync(string model, string onnxPath, RegisterOptions? options = null, CancellationToken ct = default)
    {
        ModelName.Check(model);
        return AddAsync(model, Importer.FromFile(onnxPath), options, ct);
    }

    /// <summary>Registers model bytes (untrusted, e.g. an upload); external data is refused.</summary>
    public Task<ModelVersion> RegisterAsync(string model, byte[] onnx, RegisterOptions? options = null, CancellationToken ct = default)
    {
        ModelName.Check(model);
        return AddAsync(model, Importer.FromBytes(onnx), options, ct);
    }

    /// <summary>Registers a model built in-process (e.g. by training, with its <see cref="Lineage"/>).</summary>
    public Task<ModelVersion> RegisterAsync(string model, ModelProto onnx, RegisterOptions? options = null, CancellationToken ct = default) =>
        RegisterAsync(model, onnx.ToByteArray(), options, ct);

    private async Task<ModelVersion> AddAsync(string model, PreparedModel prepared, RegisterOptions? options, CancellationToken ct)
    {
        options ??= new RegisterOptions();
        if (options.Lineage?.HyperparametersJson is { } hp)
        {
            try { using var _ = System.Text.Json.JsonDocument.Parse(hp); }
            catch (System.Text.Json.JsonException e) { throw new InvalidModelException($"lineage hyperparameters are not valid JSON: {e.Message}", e); }
        }
        await _fileLock.WaitAsync(ct);
        try
        {
            var sha = await Blobs.WriteAsync(prepared.Bytes, ct);
            try
            {
                var added = await Store.AddVersionAsync(new NewVersion(model, options.Description, sha, prepared.Bytes.LongLength, prepared.Opset,
                    prepared.Signature, prepared.Metadata, options.Lineage, options.Tags ?? new Dictionary<string, string>()), CancellationToken.None);
                _resolved.Clear(); // "latest" moved
                return added;
            }
            catch
            {
                // The metadata did not commit: drop the file unless an existing version already shares it.
                await RemoveIfUnreferencedAsync(sha);
                throw;
            }
        }
        finally
        {
            _fileLock.Release();
        }
    }

    // ---- reading ----

    public Task<IReadOnlyList<RegisteredModel>> ListModelsAsync(CancellationToken ct = default) => Store.ListModelsAsync(ct);
    public Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string model, CancellationToken ct = default) => Store.ListVersionsAsync(model, ct);
    public Task<IReadOnlyDictionary<string, int>> LatestVersionsAsync(CancellationToken ct = default) => Store.LatestVersionsAsync(ct);

    public async Task<ModelVersion> GetVersionAsync(string model, int version, CancellationToken ct = default) =>
        await Store.GetVersionAsync(model, version, ct) ?? throw new ModelNotFoundException($"no version {version} of model '{model}'");

    /// <summary>Resolves a version number, an alias, or <c>latest</c>/null (the highest number).</summary>
    public async Task<ModelVersion> ResolveAsync(string model, string? reference = null, CancellationToken ct = default)
    {
        if (reference is not null && int.TryParse(reference, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            return await GetVersionAsync(model, number, ct);
        if (reference is null or "latest")
            return (await Store.ListVersionsAsync(model, ct)).LastOrDefault() ?? throw new ModelNotFoundException($"model '{model}' has no versions");
        var m = await Store.GetModelAsync(model, ct) ?? throw new ModelNotFoundException($"no model named '{model}'");
        if (!m.Aliases.TryGetValue(reference, out var aliased))
            throw new ModelNotFoundException($"model '{model}' has no alias '{reference}'");
        return await GetVersionAsync(model, aliased, ct);
    }

    /// <summary><see cref="ResolveAsync"/> for the serving path: answers from a cache at most
    /// <see cref="ServingResolveTtl"/> old, so every inference request does not pay a database round trip. This
    /// process's own writes clear the cache at once; an alias moved by another replica is seen within the TTL.</summary>
    public async Task<ModelVersion> ResolveForServingAsync(string model, string? reference, CancellationToken ct = default)
    {
        var key = (model, reference ?? "latest");
        var now = Environment.TickCount64;
        if (ServingResolveTtl > TimeSpan.Zero && _resolved.TryGetValue(key, out var hit) && hit.ExpiresAt > now) return hit.Version;
        var version = await ResolveAsync(model, reference, ct);
        if (ServingResolveTtl > TimeSpan.Zero) _resolved[key] = (version, now + (long)ServingResolveTtl.TotalMilliseconds);
        return version;
    }

    /// <summary>Zero turns the serving cache off.</summary>
    public TimeSpan ServingResolveTtl { get; set; } = TimeSpan.FromSeconds(1);

    public string FilePath(ModelVersion version) => Blobs.PathOf(version.Sha256);

    // ---- aliases, tags, deletion ----

    public async Task SetAliasAsync(string model, string alias, int version, CancellationToken ct = default)
    {
        await Store.SetAliasAsync(model, alias, version, ct);
        _resolved.Clear();
    }

    public async Task<bool> RemoveAliasAsync(string model, string alias, CancellationToken ct = default)
    {
        var removed = await Store.RemoveAliasAsync(model, alias, ct);
        _resolved.Clear();
        return removed;
    }
    public Task SetTagAsync(string model, int version, string key, string value, CancellationToken ct = default) => Store.SetTagAsync(model, version, key, value, ct);
    public Task<bool> RemoveTagAsync(string model, int version, string key, CancellationToken ct = default) => Store.RemoveTagAsync(model, version, key, ct);

    public async Task DeleteVersionAsync(string model, int version, CancellationToken ct = default)
    {
        await _fileLock.WaitAsync(ct);
        try
        {
            var deleted = await Store.DeleteVersionAsync(model, version, ct);
            _resolved.Clear();
            await RemoveIfUnreferencedAsync(deleted.Sha256);
        }
        finally { _fileLock.Release(); }
    }

    public async Task DeleteModelAsync(string model, bool force = false, CancellationToken ct = default)
    {
        await _fileLock.WaitAsync(ct);
        try
        {
            var deleted = await Store.DeleteModelAsync(model, force, ct);
            _resolved.Clear();
            foreach (var sha in deleted.Select(v => v.Sha256).Distinct()) await RemoveIfUnreferencedAsync(sha);
        }
        finally { _fileLock.Release(); }
    }

    private async Task RemoveIfUnreferencedAsync(string sha)
    {
        if (await Store.IsFileReferencedAsync(sha, CancellationToken.None)) return;
        // Another replica may have just written the same content for a version it is about to commit; a later start
        // with the directory to itself removes the file if it stays unreferenced.
        if (Blobs.WrittenAt(sha) > DateTime.UtcNow - SharedWriteGrace && _presence.OthersPresent()) return;
        Blobs.Delete(sha);
    }

    /// <summary>Problems found (empty when consistent): every version's file exists with its recorded size and SHA-256.</summary>
    public async Task<IReadOnlyList<string>> CheckConsistencyAsync(CancellationToken ct = default)
    {
        var problems = new List<string>();
        foreach (var v in await Store.AllVersionsAsync(ct))
        {
            var path = FilePath(v);
            if (!File.Exists(path)) { problems.Add($"{v}: file {v.Sha256}.onnx is missing"); continue; }
            if (new FileInfo(path).Length != v.SizeBytes) problems.Add($"{v}: file is {new FileInfo(path).Length} bytes, recorded {v.SizeBytes}");
            else if (BlobStore.Sha256OfFile(path) != v.Sha256) problems.Add($"{v}: file content does not match its SHA-256");
        }
        return problems;
    }

    public void Dispose()
    {
        Store.Dispose();
        _presence.Dispose();
        _fileLock.Dispose();
    }
}
