using System.ComponentModel.DataAnnotations;

namespace NeuralService.Api.Hosting;

/// <summary>The <c>Neural</c> configuration section, validated at start-up.</summary>
public sealed class NeuralOptions : IValidatableObject
{
    public const string Section = "Neural";

    /// <summary>Registry files, datasets, the jobs table and the log files live here.</summary>
    [Required] public string DataDirectory { get; set; } = "./data";
    public StorageOptions Storage { get; set; } = new();
    [Range(1, 64)] public int Workers { get; set; } = 1;
    /// <summary>Queued training jobs beyond this are refused with 429.</summary>
    [Range(1, 100_000)] public int JobQueueCapacity { get; set; } = 100;
    public BatcherOptions Batcher { get; set; } = new();
    public LimitOptions Limits { get; set; } = new();
    public RateLimitOptions RateLimit { get; set; } = new();
    /// <summary>How long a stop may take: in-flight requests drain and running jobs checkpoint within it.</summary>
    [Range(1, 3600)] public int ShutdownSeconds { get; set; } = 25;
    /// <summary>Models loaded at start (<c>name</c> or <c>name:version-or-alias</c>); readiness waits for them, and for
    /// every version tagged <c>preload=true</c>.</summary>
    public List<string> Preload { get; set; } = [];
    /// <summary>Inference requests resolve a model's alias or latest version from a cache at most this old (0: ask the
    /// database every time); this replica's own registry writes take effect at once, other replicas' within it.</summary>
    [Range(0, 60_000)] public int ServingResolveTtlMs { get; set; } = 1000;
    /// <summary>Try CUDA for inference sessions.</summary>
    public bool UseCuda { get; set; } = true;
    /// <summary>Most memory one served model may take: its constants are checked at upload (a graph whose
    /// ConstantOfShape/Expand/Tile/Range or initializers need more is refused, 422), and what its load and a first run
    /// take is measured at load (over it: refused, 422).</summary>
    public long MaxModelMemoryBytes { get; set; } = 2L << 30;
    /// <summary>The inference session cache holds loaded models up to this much measured memory, unloading the least
    /// recently used beyond it.</summary>
    public long SessionCacheBytes { get; set; } = 4L << 30;
    /// <summary>Most bytes a dataset upload may expand to once decompressed and read (gzip IDX, NPZ members, any
    /// declared array size); over it the upload is refused with 413 and nothing is kept.</summary>
    public long MaxDecompressedBytes { get; set; } = 2L << 30;
    /// <summary>Reverse proxies (IP addresses or CIDR networks) whose X-Forwarded-For / X-Forwarded-Proto are honoured;
    /// empty: the socket's peer is the client.</summary>
    public List<string> TrustedProxies { get; set; } = [];
    public CleanupOptions Cleanup { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext context)
    {
        if (Storage.Provider is not ("sqlite" or "postgres"))
            yield return new ValidationResult($"Neural:Storage:Provider must be 'sqlite' or 'postgres', got '{Storage.Provider}'");
        if (Storage.Provider == "postgres" && string.IsNullOrWhiteSpace(Storage.ConnectionString))
            yield return new ValidationResult("Neural:Storage:ConnectionString is required for postgres storage");
        if (Batcher.MaxBatchSize < 1) yield return new ValidationResult($"Neural:Batcher:MaxBatchSize must be at least 1, got {Batcher.MaxBatchSize}");
        if (Batcher.MaxQueueDelayMs < 0) yield return new ValidationResult($"Neural:Batcher:MaxQueueDelayMs must not be negative, got {Batcher.MaxQueueDelayMs}");
        if (Batcher.QueueCapacity < 1) yield return new ValidationResult($"Neural:Batcher:QueueCapacity must be at least 1, got {Batcher.QueueCapacity}");
        if (Limits.MaxRequestBytes < 1024) yield return new ValidationResult($"Neural:Limits:MaxRequestBytes must be at least 1024, got {Limits.MaxRequestBytes}");
        if (Limits.MaxUploadBytes < 1024) yield return new ValidationResult($"Neural:Limits:MaxUploadBytes must be at least 1024, got {Limits.MaxUploadBytes}");
        if (MaxModelMemoryBytes < 1 << 20 || MaxModelMemoryBytes > SessionCacheBytes)
            yield return new ValidationResult($"Neural:MaxModelMemoryBytes must be at least 1 MiB (1048576) and at most Neural:SessionCacheBytes ({SessionCacheBytes}), got {MaxModelMemoryBytes}");
        if (MaxDecompressedBytes < 1024) yield return new ValidationResult($"Neural:MaxDecompressedBytes must be at least 1024, got {MaxDecompressedBytes}");
        if (RateLimit.PermitLimit < 1 || RateLimit.WindowSeconds < 1)
            yield return new ValidationResult($"Neural:RateLimit needs PermitLimit ≥ 1 and WindowSeconds ≥ 1, got {RateLimit.PermitLimit}/{RateLimit.WindowSeconds}");
        for (var i = 0; i < TrustedProxies.Count; i++)
            if (!Security.TrustedProxies.TryParse(TrustedProxies[i] ?? "", out _, out _, out var error))
                yield return new ValidationResult($"Neural:TrustedProxies:{i}: {error}");
        if (!(Cleanup.CheckpointRetentionHours >= 0) || !(Cleanup.PartialUploadMinutes >= 0))
            yield return new ValidationResult($"Neural:Cleanup needs CheckpointRetentionHours ≥ 0 and PartialUploadMinutes ≥ 0, got {Cleanup.CheckpointRetentionHours}/{Cleanup.PartialUploadMinutes}");
    }
}

public sealed class StorageOptions
{
    /// <summary><c>sqlite</c> (registry.db in the data directory) or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";
    public string? ConnectionString { get; set; }
}

public sealed class BatcherOptions
{
    public int MaxBatchSize { get; set; } = 32;
    public double MaxQueueDelayMs { get; set; } = 2;
    public int QueueCapacity { get; set; } = 1024;
}

public sealed class LimitOptions
{
    /// <summary>Largest inference or JSON request body.</summary>
    public long MaxRequestBytes { get; set; } = 64L << 20;
    /// <summary>Largest model or dataset upload.</summary>
    public long MaxUploadBytes { get; set; } = 1L << 30;
}

public sealed class RateLimitOptions
{
    /// <summary>Requests per client (API key or remote address) per window.</summary>
    public int PermitLimit { get; set; } = 1000;
    public int WindowSeconds { get; set; } = 10;
}

/// <summary>What start-up removes of what a crash left in the data directory.</summary>
public sealed class CleanupOptions
{
    /// <summary>Checkpoint folders of ended jobs (and of jobs no longer stored) are removed this long after the job ended.</summary>
    public double CheckpointRetentionHours { get; set; } = 24;
    /// <summary>A dataset folder without its <c>dataset.json</c>, or an ASP.NET temp file under <c>tmp/aspnet/</c>, untouched for this
    /// long is a dead upload's (a live one, maybe another replica's, keeps writing).</summary>
    public double PartialUploadMinutes { get; set; } = 10;
}
