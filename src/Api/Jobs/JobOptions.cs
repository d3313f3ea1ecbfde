using System.ComponentModel.DataAnnotations;

namespace NeuralService.Api.Jobs;

/// <summary>The <c>Jobs</c> configuration section: who runs training jobs and how replicas share them.</summary>
public sealed class JobOptions : IValidatableObject
{
    public const string Section = "Jobs";

    /// <summary><c>process</c> (default): each job runs in a child process of this service (<c>worker --job ID</c>), so
    /// training can never take serving down, under <see cref="MaxMemoryBytes"/>; <c>inprocess</c>: this service's worker
    /// pool trains in its own process (no isolation, no memory budget at run time); <c>kubernetes</c>: each job runs as a
    /// Kubernetes Job (<c>worker --job ID</c> in the same image) and reports through the shared database.</summary>
    public string Runner { get; set; } = "process";
    /// <summary>A running job whose owner has not renewed its lease for this long is taken back (resumed or marked interrupted).</summary>
    [Range(2, 3600)] public int LeaseSeconds { get; set; } = 15;
    [Range(1, 600)] public int HeartbeatSeconds { get; set; } = 2;
    /// <summary>Idle workers look for jobs queued through other replicas this often.</summary>
    [Range(0.05, 60)] public double PollSeconds { get; set; } = 1;
    /// <summary>Starts per job; a job that keeps taking its process down is marked interrupted after this many.</summary>
    [Range(1, 100)] public int MaxAttempts { get; set; } = 3;
    /// <summary>The memory one training job may use, in bytes: checked against the job's estimate at submit (400 when
    /// it does not fit) and, with the <c>process</c> runner, enforced on the child process (a cgroup v2 memory limit
    /// where a writable one is delegated to the service, else a watchdog on its resident memory). Unset: half of the
    /// memory available to this process (physical memory or its container's limit).</summary>
    public long? MaxMemoryBytes { get; set; }
    /// <summary>With the <c>process</c> runner, a canceled job's process that has not ended this long after the cancel
    /// (one step is normally enough) is killed and the job recorded canceled.</summary>
    /// <summary>A cgroup v2 directory delegated to the service (writable, with the memory controller enabled for its
    /// children) under which each job's process gets a group limited to <see cref="MaxMemoryBytes"/>. Unset: the
    /// service's own group when it allows that; else only the resident-memory watchdog enforces the budget.</summary>
    public string? MemoryCgroup { get; set; }
    [Range(1, 600)] public int CancelGraceSeconds { get; set; } = 10;

    public const long MinMemoryBytes = 64L << 20;

    public bool IsKubernetes => Runner == "kubernetes";
    public bool IsProcess => Runner == "process";

    /// <summary><see cref="MaxMemoryBytes"/>, or its default.</summary>
    public long MemoryBudget => MaxMemoryBytes ?? DefaultMemoryBudget;

    public static long DefaultMemoryBudget => Math.Max(256L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2);

    public IEnumerable<ValidationResult> Validate(ValidationContext context)
    {
        if (Runner is not ("process" or "inprocess" or "kubernetes"))
            yield return new ValidationResult($"Jobs:Runner must be 'process', 'inprocess' or 'kubernetes', got '{Runner}'");
        if (HeartbeatSeconds * 2 > LeaseSeconds)
            yield return new ValidationResult($"Jobs:LeaseSeconds ({LeaseSeconds}) must be at least twice Jobs:HeartbeatSeconds ({HeartbeatSeconds})");
        // A worker process needs about 100 MB before it trains anything.
        if (MaxMemoryBytes is < MinMemoryBytes)
            yield return new ValidationResult($"Jobs:MaxMemoryBytes must be at least {MinMemoryBytes} (64 MiB), got {MaxMemoryBytes}");
    }
}
