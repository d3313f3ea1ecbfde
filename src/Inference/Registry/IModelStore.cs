namespace NeuralService.Inference.Registry;

/// <summary>What a new version records; the store assigns its number.</summary>
public sealed record NewVersion(
    string Model,
    string? Description,
    string Sha256,
    long SizeBytes,
    long Opset,
    Signature Signature,
    IReadOnlyDictionary<string, string> Metadata,
    Lineage? Lineage,
    IReadOnlyDictionary<string, string> Tags);

/// <summary>Registry metadata (models, versions, aliases, tags). Implementations share one schema
/// (<see cref="Schema"/>) and migration runner; model files are kept by <see cref="BlobStore"/>.</summary>
public interface IModelStore : IDisposable
{
    /// <summary>Applies pending schema migrations; safe to call from several processes at once.</summary>
    Task MigrateAsync(CancellationToken ct = default);
    Task<int> SchemaVersionAsync(CancellationToken ct = default);

    Task<IReadOnlyList<RegisteredModel>> ListModelsAsync(CancellationToken ct = default);
    Task<RegisteredModel?> GetModelAsync(string model, CancellationToken ct = default);
    /// <summary>The highest version number of every model that has a version (what <c>latest</c> resolves to).</summary>
    Task<IReadOnlyDictionary<string, int>> LatestVersionsAsync(CancellationToken ct = default);

    /// <summary>Creates the model if needed and adds the next version number (numbers are never reused).</summary>
    Task<ModelVersion> AddVersionAsync(NewVersion version, CancellationToken ct = default);
    Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string model, CancellationToken ct = default);
    Task<ModelVersion?> GetVersionAsync(string model, int version, CancellationToken ct = default);
    /// <summary>Whether any version of any model has this file (equal content shares one file).</summary>
    Task<bool> IsFileReferencedAsync(string sha256, CancellationToken ct = default);
    /// <summary>Every version of every model (consistency checks and file clean-up).</summary>
    Task<IReadOnlyList<ModelVersion>> AllVersionsAsync(CancellationToken ct = default);

    /// <summary>Points <paramref name="alias"/> at a version, moving it if it pointed elsewhere.</summary>
    Task SetAliasAsync(string model, string alias, int version, CancellationToken ct = default);
    Task<bool> RemoveAliasAsync(string model, string alias, CancellationToken ct = default);
    Task SetTagAsync(string model, int version, string key, string value, CancellationToken ct = default);
    Task<bool> RemoveTagAsync(string model, int version, string key, CancellationToken ct = default);

    /// <summary>Deletes one version; refused with <see cref="RegistryConflictException"/> while an alias points at it.</summary>
    Task<ModelVersion> DeleteVersionAsync(string model, int version, CancellationToken ct = default);
    /// <summary>Deletes a model with all its versions; refused while it has aliases unless <paramref name="force"/>.</summary>
    Task<IReadOnlyList<ModelVersion>> DeleteModelAsync(string model, bool force, CancellationToken ct = default);
}
