using System.Diagnostics;
using NeuralService.Api.Errors;
using NeuralService.Api.Hosting;

namespace NeuralService.Api.Jobs;

/// <summary>Runs one claimed job in this process and records how it ended: succeeded, failed, canceled (asked for), or
/// back in the queue with its checkpoint when the process is stopping — the next start (or another replica) resumes it.</summary>
public sealed class JobExecutor(JobService jobs, TrainingRun run, ILogger<JobExecutor> log)
{
    public async Task<Job> ExecuteAsync(Job job, string owner, CancellationToken stopping)
    {
        var local = jobs.Track(job, owner);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(local.Cancel.Token, stopping);
        var clock = Stopwatch.StartNew();
        using var scope = log.BeginScope(new Dictionary<string, object> { ["JobId"] = job.Id });
        log.LogInformation("job {JobId} started (attempt {Attempt}, from epoch {Epoch})", job.Id, job.Attempts, job.CheckpointEpoch);
        Job outcome;
        try
        {
            outcome = await run.RunAsync(job, owner, linked.Token);
            if (outcome.State == JobState.Running) outcome = Stopped(outcome, local, stopping);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested && !local.Lost)
        {
            outcome = Stopped(job, local, stopping); // stopped before training began (e.g. while resolving a base model)
        }
        catch (Exception e) when (!local.Lost)
        {
            log.LogWarning(e, "job {JobId} failed", job.Id);
            var current = jobs.Store.Get(job.Id) ?? job;
            outcome = current with
            {
                State = JobState.Failed, FinishedAt = DateTimeOffset.UtcNow,
                Error = ProblemMapping.Redact(ProblemMapping.Map(e) is null ? $"{e.GetType().Name}: {e.Message}" : e.Message, run.DataDirectory),
            };
        }
        catch (Exception e)
        {
            log.LogWarning(e, "job {JobId} stopped after its lease was lost", job.Id);
            outcome = job;
        }
        finally { jobs.Untrack(job.Id); }

        InferenceMetrics.JobDuration.WithLabels(outcome.State.ToString().ToLowerInvariant()).Observe(clock.Elapsed.TotalSeconds);
        if (local.Lost) log.LogWarning("job {JobId} was taken over by another worker; this run's result is dropped", job.Id);
        else
        {
            // Removed before the end is recorded, so whoever sees the job ended (in any process) finds no checkpoint left.
            if (outcome.IsTerminal) DeleteCheckpoint(job.Id);
            if (outcome.State == JobState.Queued ? jobs.Store.Transition(outcome, JobState.Running, owner) : jobs.Store.Update(outcome, owner))
                jobs.Published(outcome);
        }
        if (outcome.Error is { } error && outcome.State != JobState.Succeeded)
            log.LogInformation("job {JobId} ended {State}: {Error}", job.Id, outcome.State, error);
        else log.LogInformation("job {JobId} ended {State}", job.Id, outcome.State);
        return outcome;
    }

    private static Job Stopped(Job job, JobService.LocalRun local, CancellationToken stopping)
    {
        if (local.Cancel.IsCancellationRequested)
            return job with { State = JobState.Canceled, FinishedAt = DateTimeOffset.UtcNow, Error = "canceled while running" };
        if (!stopping.IsCancellationRequested)
        {
            local.Lost = true; // training stopped because a progress write found another owner
            return job;
        }
        return job with
        {
            State = JobState.Queued,
            Error = job.CheckpointEpoch > 0
                ? $"the service stopped during epoch {job.CheckpointEpoch + 1}; it resumes from its checkpoint after epoch {job.CheckpointEpoch}"
                : "the service stopped during epoch 1; it resumes from its checkpoint of the weights so far",
        };
    }

    private void DeleteCheckpoint(string id)
    {
        try { Directory.Delete(run.CheckpointDirectory(id), recursive: true); }
        catch (DirectoryNotFoundException) { }
        catch (IOException e) { log.LogWarning(e, "could not remove the checkpoint of job {JobId}", id); }
    }
}
