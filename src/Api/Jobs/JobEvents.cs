using System.Collections.Concurrent;
using System.ComponentModel;

namespace NeuralService.Api.Jobs;

/// <summary>Event types of a job's stream, as stored and as sent (<c>event:</c> of a Server-Sent Event).</summary>
public static class JobEventTypes
{
    public const string State = "state";
    public const string Epoch = "epoch";
    public const string Batch = "batch";
}

/// <summary>One stored event of a job: <see cref="Id"/> increases by one with each event appended to that job (thinned
/// batch events leave holes), <see cref="Data"/> is its JSON payload.</summary>
public sealed record StoredJobEvent(long Id, string Type, DateTimeOffset Time, string Data);

/// <summary>A <c>state</c> event: the job's state changed (queued, running, or how it ended). Lean on purpose: the
/// request and history are in <c>GET /v1/jobs/{id}</c>.</summary>
public sealed record JobStateEvent(
    string JobId, JobState State, int Epoch, int Attempts, string? Worker, string? Error,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    string? RegisteredModel, int? RegisteredVersion, DateTimeOffset Time)
{
    public static JobStateEvent Of(Job job) => new(job.Id, job.State, job.Epoch, job.Attempts, job.Worker, job.Error,
        job.CreatedAt, job.StartedAt, job.FinishedAt, job.RegisteredModel, job.RegisteredVersion, DateTimeOffset.UtcNow);
}

/// <summary>An <c>epoch</c> event: an epoch ended, with all its logs (training and <c>val_</c> metrics, as Keras's
/// history has them).</summary>
public sealed record JobEpochEvent(
    string JobId, int Epoch, int Epochs,
    [property: Description("All logs of the epoch: loss, metrics and val_ quantities (non-finite values left out).")]
    IReadOnlyDictionary<string, double> Metrics,
    [property: Description("Optimizer steps taken so far in this job.")]
    long Step,
    double LearningRate,
    [property: Description("Wall-clock seconds the epoch took (validation included).")]
    double Seconds,
    double? SamplesPerSecond,
    DateTimeOffset Time);

/// <summary>A <c>batch</c> event (at most four a second per job), also the live <c>progress</c> of
/// <c>GET /v1/jobs/{id}</c>: the position in the run, speed, time left and the epoch's running metrics so far.</summary>
public sealed record JobProgress(
    string JobId,
    [property: Description("The epoch under way (1-based).")]
    int Epoch,
    int Epochs,
    [property: Description("Batches done in this epoch (1-based index of the last one).")]
    int Batch,
    [property: Description("Batches per epoch; null when the dataset does not say.")]
    int? Batches,
    [property: Description("Optimizer steps taken so far in this job.")]
    long Step,
    [property: Description("Samples trained on in this epoch so far.")]
    long Samples,
    [property: Description("Training speed over this epoch so far.")]
    double SamplesPerSecond,
    [property: Description("Estimated seconds until the last epoch ends, from this run's pace; null until it can be told.")]
    double? EtaSeconds,
    [property: Description("The epoch's running averages so far (what Keras's progress bar shows).")]
    IReadOnlyDictionary<string, double> Metrics,
    [property: Description("The start (attempt) of the job that reported it.")]
    int Attempt,
    DateTimeOffset Time);

/// <summary>Wakes this process's event streams of a job when its store appended events here (a job run in this
/// process); streams of jobs run elsewhere find new events by polling the store.</summary>
public sealed class JobEvents
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _signals = new(StringComparer.Ordinal);

    /// <summary>A task that completes at the next <see cref="Notify"/> of the job. Take it before reading the store, so
    /// that an event appended between the read and the wait is not missed.</summary>
    public Task Signal(string jobId) =>
        _signals.GetOrAdd(jobId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Notify(string jobId)
    {
        if (_signals.TryRemove(jobId, out var s)) s.TrySetResult();
    }

    /// <summary>Drops a signal nobody will wait for any more (a stream that ended).</summary>
    public void Forget(string jobId, Task signal)
    {
        if (_signals.TryGetValue(jobId, out var s) && s.Task == signal) _signals.TryRemove(new KeyValuePair<string, TaskCompletionSource>(jobId, s));
    }
}
