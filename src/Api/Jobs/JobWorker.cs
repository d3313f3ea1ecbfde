using Microsoft.Extensions.Options;
using NeuralService.Api.Errors;
using NeuralService.Api.Hosting;

namespace NeuralService.Api.Jobs;

/// <summary>A bounded pool of <c>Neural:Workers</c> loops taking jobs from the queue, one job each at a time.</summary>
public sealed class JobWorker(JobService jobs, TrainingRun run, IOptions<NeuralOptions> options, ILogger<JobWorker> log) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        jobs.Recover();
        stoppingToken.Register(jobs.CancelAll);
        return Task.WhenAll(Enumerable.Range(0, options.Value.Workers).Select(_ => Task.Run(() => LoopAsync(stoppingToken), CancellationToken.None)));
    }

    private async Task LoopAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var id in jobs.Queue.ReadAllAsync(stoppingToken))
            {
                if (jobs.Start(id) is not { } started) continue; // canceled while queued
                var (job, cts) = started;
                using var linked = CancellationTokenSource.CreateLinkedTokenSource(cts.Token, stoppingToken);
                try
                {
                    log.LogInformation("job {JobId} started", job.Id);
                    job = await run.RunAsync(job, linked.Token);
                    if (stoppingToken.IsCancellationRequested && job.State == JobState.Canceled)
                        job = job with { State = JobState.Interrupted, Error = "the service stopped while this job was running; submit it again" };
                }
                catch (Exception e)
                {
                    log.LogWarning(e, "job {JobId} failed", job.Id);
                    var current = jobs.Store.Get(job.Id) ?? job;
                    job = current with
                    {
                        State = JobState.Failed, FinishedAt = DateTimeOffset.UtcNow,
                        Error = ProblemMapping.Map(e) is null ? $"{e.GetType().Name}: {e.Message}" : e.Message,
                    };
                }
                jobs.Finish(job);
                log.LogInformation("job {JobId} ended {State}", job.Id, job.State);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }
}

public static class JobServiceCollection
{
    public static IServiceCollection AddJobs(this IServiceCollection services) => services
        .AddSingleton<JobStore>().AddSingleton<JobEvents>().AddSingleton<JobService>().AddSingleton<TrainingRun>()
        .AddHostedService<JobWorker>();
}
