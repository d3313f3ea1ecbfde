using Microsoft.Extensions.Logging;

namespace NeuralService.Api.Jobs.Kubernetes;

/// <summary><c>Jobs:Runner=kubernetes</c>: a claimed job is handed to a Kubernetes Job whose worker adopts it in the shared
/// store; until it does, the launching side keeps the claim alive while the pod is pending and takes the job back when
/// the Kubernetes Job ended without running it or was canceled before it started.</summary>
public sealed class KubernetesJobRunner(KubernetesJobLauncher launcher, JobService jobs, ILogger<KubernetesJobRunner> log)
{
    public async Task LaunchAsync(Job claimed, CancellationToken ct)
    {
        var owner = JobOwner.Kubernetes(claimed.Id);
        try
        {
            // A finished Kubernetes Job of an earlier attempt (the job was requeued) would make the launch a no-op.
            if (await launcher.PhaseAsync(claimed.Id, ct) is KubernetesJobPhase.Succeeded or KubernetesJobPhase.Failed)
            {
                await launcher.DeleteAsync(claimed.Id, ct);
                for (var i = 0; i < 50 && await launcher.PhaseAsync(claimed.Id, ct) != KubernetesJobPhase.Missing; i++) await Task.Delay(200, ct);
            }
            var created = await launcher.LaunchAsync(claimed, ct);
            log.LogInformation("job {JobId} launched as Kubernetes Job {Name}", claimed.Id, created.Metadata.Name);
            jobs.Published(claimed);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.LogError(e, "job {JobId}: the Kubernetes Job could not be created", claimed.Id);
            var failed = claimed with { State = JobState.Failed, FinishedAt = DateTimeOffset.UtcNow, Error = $"the Kubernetes Job could not be created: {e.Message}" };
            if (jobs.Store.Transition(failed, JobState.Running, owner)) jobs.Published(failed);
        }
    }

    /// <summary>One look at a launched job no worker has adopted yet; returns true when it was taken back. A Job that is
    /// not there yet is given until <paramref name="staleBeforeMs"/> passes its claim: it may be being created now.</summary>
    public async Task<bool> SuperviseAsync(Job job, string owner, long heartbeatMs, long staleBeforeMs, bool cancelRequested, CancellationToken ct)
    {
        var phase = await launcher.PhaseAsync(job.Id, ct);
        Job? next = null;
        if (cancelRequested)
        {
            await launcher.DeleteAsync(job.Id, ct);
            next = job with { State = JobState.Canceled, FinishedAt = DateTimeOffset.UtcNow, Error = "canceled before its Kubernetes Job started" };
        }
        else if (phase == KubernetesJobPhase.Missing && heartbeatMs >= staleBeforeMs) return false;
        else if (phase is KubernetesJobPhase.Pending or KubernetesJobPhase.Running)
        {
            jobs.Store.Heartbeat(job.Id, owner); // a pod waiting for a node or an image is not a dead worker
            return false;
        }
        else
        {
            next = job with
            {
                State = JobState.Interrupted, FinishedAt = DateTimeOffset.UtcNow,
                Error = $"its Kubernetes Job {KubernetesJobLauncher.JobName(job.Id)} is {phase.ToString().ToLowerInvariant()} and never ran the job (see the pod's events and logs)",
            };
        }
        if (!jobs.Store.Transition(next, JobState.Running, owner)) return false;
        log.LogWarning("job {JobId}: {Error}", job.Id, next.Error);
        jobs.Published(next);
        return true;
    }
}
