using Microsoft.Extensions.Options;
using NeuralService.Api.Hosting;
using NeuralService.Api.Jobs.Kubernetes;

namespace NeuralService.Api.Jobs;

/// <summary>A bounded pool of <c>Neural:Workers</c> loops; each claims the oldest queued job from the shared store (so
/// a job queued through any replica runs exactly once) and runs it in a child process (<c>Jobs:Runner=process</c>, the
/// default), in this process (<c>inprocess</c>), or hands it to a Kubernetes Job.</summary>
public sealed class JobWorker(JobService jobs, JobExecutor executor, IOptions<NeuralOptions> neural, IOptions<JobOptions> options,
    IServiceProvider services, ILogger<JobWorker> log) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        jobs.JobCounts();
        if (options.Value.IsKubernetes)
        {
            var runner = services.GetRequiredService<KubernetesJobRunner>();
            return Task.Run(() => LoopAsync(async ct =>
            {
                if (jobs.Store.Claim(JobOwner.Kubernetes) is not { } job) return false;
                await runner.LaunchAsync(job, ct);
                return true;
            }, stoppingToken), CancellationToken.None);
        }
        if (options.Value.IsProcess)
        {
            var runner = services.GetRequiredService<JobProcessRunner>();
            var launcher = JobOwner.Child(JobOwner.Current);
            return Task.WhenAll(Enumerable.Range(0, neural.Value.Workers).Select(_ => Task.Run(() => LoopAsync(async ct =>
            {
                if (jobs.Store.Claim(launcher) is not { } job) return false;
                await runner.RunAsync(job, launcher, ct);
                return true;
            }, stoppingToken), CancellationToken.None)));
        }
        return Task.WhenAll(Enumerable.Range(0, neural.Value.Workers).Select(_ => Task.Run(() => LoopAsync(async ct =>
        {
            if (jobs.Store.Claim(JobOwner.Current) is not { } job) return false;
            await executor.ExecuteAsync(job, JobOwner.Current, ct);
            return true;
        }, stoppingToken), CancellationToken.None)));
    }

    /// <summary>Runs <paramref name="step"/> (claim one job and handle it; false when there was none) until stopped.</summary>
    private async Task LoopAsync(Func<CancellationToken, Task<bool>> step, CancellationToken stoppingToken)
    {
        var poll = TimeSpan.FromSeconds(options.Value.PollSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!await step(stoppingToken)) await jobs.WaitForWorkAsync(poll, stoppingToken);
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
