using System.ComponentModel.DataAnnotations;

namespace NeuralService.Api.Jobs;

/// <summary>The <c>Jobs</c> configuration section: who runs training jobs and how replicas share them.</summary>
public sealed class JobOptions : IValidatableObject
{
    public const string Section = "Jobs";

    /// <summary><c>inprocess</c>: this service's worker pool trains; <c>kubernetes</c>: each job runs as a Kubernetes Job
    /// (<c>worker --job ID</c> in the same image) and reports through the shared database.</summary>
    public string Runner { get; set; } = "inprocess";
    /// <summary>A running job whose owner has not renewed its lease for this long is taken back (resumed or marked interrupted).</summary>
    [Range(2, 3600)] public int LeaseSeconds { get; set; } = 15;
    [Range(1, 600)] public int HeartbeatSeconds { get; set; } = 2;
    /// <summary>Idle workers look for jobs queued through other replicas this often.</summary>
    [Range(0.05, 60)] public double PollSeconds { get; set; } = 1;
    /// <summary>Starts per job; a job that keeps taking its process down is marked interrupted after this many.</summary>
    [Range(1, 100)] public int MaxAttempts { get; set; } = 3;

    public bool IsKubernetes => Runner == "kubernetes";

    public IEnumerable<ValidationResult> Validate(ValidationContext context)
    {
        if (Runner is not ("inprocess" or "kubernetes"))
            yield return new ValidationResult($"Jobs:Runner must be 'inprocess' or 'kubernetes', got '{Runner}'");
        if (HeartbeatSeconds * 2 > LeaseSeconds)
            yield return new ValidationResult($"Jobs:LeaseSeconds ({LeaseSeconds}) must be at least twice Jobs:HeartbeatSeconds ({HeartbeatSeconds})");
    }
}
