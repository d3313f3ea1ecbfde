using Microsoft.Extensions.Options;
using NeuralService.Api.Jobs.Kubernetes;

namespace NeuralService.Api.Jobs;

/// <summary>Renews the leases of the jobs this process runs (stopping those canceled from any replica or lost to
/// another) and takes back running jobs whose owner is gone: back to the queue to resume from their checkpoint, or
/// interrupted with the reason once they used up <c>Jobs:MaxAttempts</c>.</summary>
public sealed class JobSupervisor(JobService jobs, IOptions<JobOptions> options, ILogger<JobSupervisor> log, KubernetesJobRunner? kubernetes = null)
    : BackgroundService
{
    /// <summary>In worker mode the process only renews its own lease; the service replicas do the reaping.</summary>
    public bool Reap { get; init; } = true;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromSeconds(options.Value.HeartbeatSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Beat();
                if (Reap) await ReapOnceAsync(stoppingToken);
            }
            catch (Exception e) { log.LogError(e, "job supervisor"); }
            try { await Task.Delay(period, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }

    internal void Beat()
    {
        foreach (var (id, run) in jobs.Local)
        {
            var (owned, cancel) = jobs.Store.Heartbeat(id, run.Owner);
            if (!owned) run.Lost = true;
            if (!owned || cancel) run.Cancel.Cancel();
        }
    }

    /// <summary>One pass over the running jobs of other (or earlier) processes; returns how many it took back.</summary>
    internal async Task<int> ReapOnceAsync(CancellationToken ct)
    {
        var o = options.Value;
        var staleBefore = JobStore.NowMs() - o.LeaseSeconds * 1000L;
        var taken = 0;
        foreach (var (job, owner, heartbeat, cancelRequested) in jobs.Store.Running())
        {
            if (jobs.IsLocal(job.Id)) continue;
            if (kubernetes is not null && owner.StartsWith(JobOwner.KubernetesPrefix, StringComparison.Ordinal))
            {
                if (await kubernetes.SuperviseAsync(job, owner, heartbeat, staleBefore, cancelRequested, ct)) taken++;
                continue;
            }
            var dead = JobOwner.IsDeadLocalProcess(owner);
            if (!dead && heartbeat >= staleBefore) continue;
            var why = dead ? $"its worker {owner} exited" : $"its worker {owner} stopped renewing its lease";
            var next = cancelRequested
                ? job with { State = JobState.Canceled, FinishedAt = DateTimeOffset.UtcNow, Error = $"canceled; {why}" }
                : job.Attempts >= o.MaxAttempts
                    ? job with { State = JobState.Interrupted, FinishedAt = DateTimeOffset.UtcNow, Error = $"{why} on attempt {job.Attempts} of {o.MaxAttempts}; not retried" }
                    : job with { State = JobState.Queued, Error = $"{why}; queued again to resume " + (job.CheckpointEpoch > 0 ? $"after epoch {job.CheckpointEpoch}" : "from the start") };
            if (!jobs.Store.Transition(next, JobState.Running, owner.Length == 0 ? null : owner, dead ? null : staleBefore)) continue;
            log.LogWarning("job {JobId}: {Why}; now {State}", job.Id, why, next.State);
            jobs.Published(next);
            taken++;
        }
        return taken;
    }
}

public static class JobServiceCollection
{
    public static IServiceCollection AddJobs(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<JobOptions>().Bind(configuration.GetSection(JobOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<JobStore>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<Hosting.NeuralOptions>>().Value;
            return o.Storage.Provider == "postgres"
                ? new PostgresJobStore(o.Storage.ConnectionString!)
                : new SqliteJobStore(Path.Combine(Hosting.NeuralServices.DataDirectory(o), Inference.Registry.ModelRegistry.DatabaseFileName));
        });
        if (configuration[$"{JobOptions.Section}:Runner"] == "kubernetes")
        {
            var errors = KubernetesJobOptions.From(configuration).Validate();
            if (errors.Count > 0) throw new Hosting.StartupRefusedException("Jobs:Runner=kubernetes: " + string.Join("; ", errors));
            services.AddSingleton(_ => KubernetesJobLauncher.Create(KubernetesJobOptions.From(configuration))).AddSingleton<KubernetesJobRunner>();
        }
        return services.AddSingleton<JobEvents>().AddSingleton<JobService>().AddSingleton<TrainingRun>().AddSingleton<JobExecutor>()
            .AddSingleton<JobProcessRunner>();
    }

    /// <summary>The service's worker pool and supervisor.</summary>
    public static IServiceCollection AddJobWorkers(this IServiceCollection services) =>
        services.AddHostedService<JobWorker>().AddJobSupervisor(reap: true);

    /// <summary>Lease renewal for the jobs this process runs; with <paramref name="reap"/>, also taking back dead owners' jobs.</summary>
    public static IServiceCollection AddJobSupervisor(this IServiceCollection services, bool reap) =>
        services.AddHostedService(sp => new JobSupervisor(sp.GetRequiredService<JobService>(), sp.GetRequiredService<IOptions<JobOptions>>(),
            sp.GetRequiredService<ILogger<JobSupervisor>>(), sp.GetService<KubernetesJobRunner>()) { Reap = reap });
}
