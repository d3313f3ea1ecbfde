using NeuralService.Api.Datasets;
using NeuralService.Api.Jobs;
using Serilog;
using Serilog.Formatting.Compact;

namespace NeuralService.Api.Hosting;

/// <summary><c>worker --job ID</c>: runs one job from the shared job store without serving HTTP — what a Kubernetes
/// training Job runs, in the same image and with the same configuration as the service. It adopts the job its launcher
/// claimed (or claims it if it is still queued; with <c>--adopt OWNER</c>, only the job a service process claimed for
/// it as its child), renews its lease while training, and on SIGTERM checkpoints and puts
/// the job back in the queue. Exit codes: 0 succeeded, 1 failed/canceled/interrupted, 2 bad arguments or configuration,
/// 3 the job is not there to run, 4 stopped and requeued.</summary>
public static class WorkerMode
{
    public static async Task<int> RunAsync(string[] args)
    {
        var jobIndex = Array.IndexOf(args, "--job");
        if (jobIndex < 0 || jobIndex + 1 >= args.Length || string.IsNullOrWhiteSpace(args[jobIndex + 1]))
        {
            Console.Error.WriteLine("usage: NeuralService.Api worker --job <job-id>");
            return 2;
        }
        var jobId = args[jobIndex + 1];
        // --adopt OWNER: the job was claimed for this process by a service process (Jobs:Runner=process), which watches it.
        var adoptIndex = Array.IndexOf(args, "--adopt");
        if (adoptIndex >= 0 && (adoptIndex + 1 >= args.Length || !args[adoptIndex + 1].StartsWith(JobOwner.ChildPrefix, StringComparison.Ordinal)))
        {
            Console.Error.WriteLine($"usage: NeuralService.Api worker --job <job-id> [--adopt {JobOwner.ChildPrefix}<owner>]");
            return 2;
        }
        var adoptFrom = adoptIndex >= 0 ? args[adoptIndex + 1] : null;
        var rest = args.Where((_, i) => i != 0 && i != jobIndex && i != jobIndex + 1 && (adoptIndex < 0 || (i != adoptIndex && i != adoptIndex + 1))).ToArray();

        var builder = Host.CreateApplicationBuilder(rest);
        builder.Services.AddNeuralOptions(builder.Configuration);
        builder.Services.AddSerilog((services, lc) => lc.MinimumLevel.Information().Enrich.FromLogContext().Enrich.WithProperty("JobId", jobId)
            .WriteTo.Console(new RenderedCompactJsonFormatter()).WriteTo.Sink(new JobLogSink(services)));
        builder.Services.AddNeuralCore();
        builder.Services.AddDatasets();
        builder.Services.AddJobs(builder.Configuration);
        builder.Services.AddJobSupervisor(reap: false);
        using var host = builder.Build();
        await host.StartAsync();
        var log = host.Services.GetRequiredService<ILogger<JobExecutor>>();
        var store = host.Services.GetRequiredService<JobStore>();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        // A child of a service process only runs what its parent claimed for it: if the parent took the job back
        // meanwhile (canceled, stopped), the child has nothing to do.
        var job = adoptFrom is not null ? store.Adopt(jobId, adoptFrom, JobOwner.Current)
            : store.Adopt(jobId, JobOwner.Kubernetes(jobId), JobOwner.Current) ?? store.Claim(JobOwner.Current, jobId);
        if (job is null)
        {
            log.LogError("job {JobId} is not queued or launched for a worker (it is {State})", jobId, store.Get(jobId)?.State.ToString() ?? "unknown");
            await host.StopAsync();
            return 3;
        }
        using var orphaned = new CancellationTokenSource();
        if (adoptFrom is not null) _ = WatchParentAsync(adoptFrom, lifetime, log, orphaned.Token);
        var outcome = await host.Services.GetRequiredService<JobExecutor>().ExecuteAsync(job, JobOwner.Current, lifetime.ApplicationStopping);
        await orphaned.CancelAsync();
        await host.StopAsync();
        return outcome.State switch { JobState.Succeeded => 0, JobState.Queued => 4, _ => 1 };
    }

    /// <summary>A child whose service process is gone (killed outright) would train on with nobody holding it to its
    /// memory budget: it stops as on SIGTERM, checkpointing and putting the job back in the queue.</summary>
    private static async Task WatchParentAsync(string parent, IHostApplicationLifetime lifetime, Microsoft.Extensions.Logging.ILogger log, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), ct);
                if (!JobOwner.IsDeadLocalProcess(parent)) continue;
                log.LogWarning("the service process that started this worker ({Parent}) is gone; stopping", parent);
                lifetime.StopApplication();
                return;
            }
        }
        catch (OperationCanceledException) { }
    }
}
