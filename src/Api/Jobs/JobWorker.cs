using Microsoft.Extensions.Options;
using NeuralService.Api.Hosting;

namespace NeuralService.Api.Jobs;

/// <summary>A bounded pool of <c>Neural:Workers</c> loops; each claims the oldest queued job from the shared store (so
/// a job queued through any replica runs exactly once) and runs it here, or hands it to a Kubernetes Job.</summary>
public sealed class JobWorker(JobService jobs, JobExecutor executor, IOptions<NeuralOptions> neural, IOptions<JobOptions> options,
    ILogger<JobWorker> log) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        jobs.JobCounts();
        return Task.WhenAll(Enumerable.Range(0, neural.Value.Workers).Select(_ => Task.Run(() => LoopAsync(stoppingToken), CancellationToken.None)));
    }

    private async Task LoopAsync(CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(options.Value.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (jobs.Store.Claim(JobOwner.Current) is { } job) await executor.ExecuteAsync(job, JobOwner.Current, stoppingToken);
                else await jobs.WaitForWorkAsync(poll, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
            catch (Exception e)
            {
                // The store being briefly unreachable must not end the worker.
                log.LogError(e, "job worker loop");
                await Task.Delay(poll, CancellationToken.None);
            }
        }
    }
}
