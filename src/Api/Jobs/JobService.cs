using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using NeuralService.Api.Datasets;
using NeuralService.Api.Errors;
using NeuralService.Api.Hosting;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Training;
using NeuralService.Inference.Registry;

namespace NeuralService.Api.Jobs;

/// <summary>Accepts, lists and cancels training jobs, and keeps track of the ones this process runs. Jobs live in the
/// shared <see cref="JobStore"/>; workers of any replica claim them from there.</summary>
public sealed class JobService
{
    public const string KerasConfigKey = "keras_config";
    private readonly JobStore _store;
    private readonly JobEvents _events;
    private readonly ModelRegistry _registry;
    private readonly DatasetStore _datasets;
    private readonly SemaphoreSlim _submitted = new(0, int.MaxValue);
    private readonly ConcurrentDictionary<string, LocalRun> _local = new(StringComparer.Ordinal);

    /// <summary>A job running in this process: its owner name and how to stop it.</summary>
    internal sealed record LocalRun(string Owner, CancellationTokenSource Cancel)
    {
        /// <summary>Set when the lease was lost to another replica: the run stops and writes nothing more.</summary>
        public bool Lost { get; set; }
    }

    public JobService(JobStore store, JobEvents events, ModelRegistry registry, DatasetStore datasets, IOptions<NeuralOptions> options)
    {
        _store = store;
        _events = events;
        _registry = registry;
        _datasets = datasets;
        Capacity = options.Value.JobQueueCapacity;
    }

    public int Capacity { get; }
    public JobStore Store => _store;
    public JobEvents Events => _events;
    internal IReadOnlyDictionary<string, LocalRun> Local => _local;
    public bool IsLocal(string id) => _local.ContainsKey(id);

    public async Task<Job> SubmitAsync(JobRequest request, CancellationToken ct)
    {
        ModelName.Check(request.RegisterAs, "register_as");
        var json = await ModelJsonAsync(request, ct); // the model must parse now, not fail later in the queue
        var dataset = _datasets.Get(request.Dataset);
        var compile = request.Compile ?? new CompileOptions();
        // Compile settings and the dataset's arrays are checked against the model's inputs and outputs now (no session is
        // created), so a job that cannot train is refused with the field to fix rather than failing in the queue.
        using (var trainer = new NeuralService.Training.Trainer(KerasModelJson.Read(json)))
        {
            JobCompile.Apply(trainer, compile);
            try { trainer.Validate(DatasetStore.Layout(dataset), $"dataset '{dataset.Name}'"); }
            catch (ArgumentException e) { throw ApiException.BadRequest(e.Message); }
        }
        var fit = request.Fit ?? new FitSettings();
        CheckSettings(fit, request.Rescale);
        TrainingRun.DeviceOf(request.Device);
        // Replicas count the shared queue, so the limit may be overshot by a few concurrent submissions, never by many.
        if (_store.Count(JobState.Queued) >= Capacity) throw ApiException.Overloaded($"{Capacity} training jobs are already queued; retry later");
        var job = new Job("job-" + Guid.NewGuid().ToString("N")[..16], JobState.Queued, request with { Compile = compile, Fit = fit }, DateTimeOffset.UtcNow);
        _store.Insert(job);
        _submitted.Release();
        JobCounts();
        return job;
    }

    /// <summary>The fit settings and rescale factor, checked at submit and again when a run starts (a job stored by an
    /// older version may hold values refused now).</summary>
    public static void CheckSettings(FitSettings fit, double? rescale)
    {
        if (fit.Epochs is < 1 or > 100_000) throw ApiException.BadRequest($"fit.epochs must be in 1..100000, got {fit.Epochs}");
        if (fit.BatchSize is < 1 or > 1 << 20) throw ApiException.BadRequest($"fit.batch_size must be in 1..1048576, got {fit.BatchSize}");
        // Written so NaN fails too: every comparison with NaN is false.
        if (!(fit.ValidationSplit >= 0 && fit.ValidationSplit < 1)) throw ApiException.BadRequest($"fit.validation_split must be in [0, 1), got {fit.ValidationSplit}");
        if (rescale is { } r && !(Math.Abs(r) is > 0 and <= MaxRescale))
            throw ApiException.BadRequest($"rescale must be a finite non-zero number of magnitude at most {MaxRescale}, got {r}");
    }

    public Job Get(string id) => _store.Get(id) ?? throw ApiException.NotFound($"no job '{id}'");
    public IReadOnlyList<Job> List() => _store.List();

    /// <summary>Removes an ended job (its checkpoint is the caller's to remove); a queued or running job is refused with
    /// 409, pointing at cancel.</summary>
    public Job Delete(string id)
    {
        var job = Get(id);
        if (!job.IsTerminal || !_store.Delete(id))
        {
            job = Get(id);
            if (!job.IsTerminal)
                throw ApiException.Conflict($"job '{id}' is {job.State.ToString().ToLowerInvariant()}; cancel it first (POST /v1/jobs/{id}/cancel) and delete it once it has ended");
            if (!_store.Delete(id)) throw ApiException.NotFound($"no job '{id}'");
        }
        JobCounts();
        return job;
    }

    /// <summary>A queued job is canceled at once; a running one is asked to stop (its owner, in whichever replica, ends
    /// it as canceled at the next batch).</summary>
    public Job Cancel(string id)
    {
        var job = Get(id);
        if (job.IsTerminal) throw ApiException.Conflict($"job '{id}' already ended ({job.State.ToString().ToLowerInvariant()})");
        if (job.State == JobState.Queued)
        {
            var canceled = job with { State = JobState.Canceled, FinishedAt = DateTimeOffset.UtcNow, Error = "canceled before it started" };
            if (_store.Transition(canceled, JobState.Queued)) { Published(canceled); return canceled; }
            job = Get(id); // a worker took it meanwhile: cancel it running
        }
        if (job.State == JobState.Running && _store.RequestCancel(id) && _local.TryGetValue(id, out var run)) run.Cancel.Cancel();
        return job;
    }

    /// <summary>Waits until a job is submitted here or <paramref name="poll"/> passes (jobs queued through other replicas).</summary>
    internal Task WaitForWorkAsync(TimeSpan poll, CancellationToken ct) => _submitted.WaitAsync(poll, ct);

    internal LocalRun Track(Job job, string owner)
    {
        var run = new LocalRun(owner, new CancellationTokenSource());
        _local[job.Id] = run;
        Published(job);
        return run;
    }

    /// <summary>The run's token source is left undisposed: the supervisor may still be cancelling it from its last look at
    /// <see cref="Local"/>, and a source without timers holds nothing to release.</summary>
    internal void Untrack(string id) => _local.TryRemove(id, out _);

    /// <summary>The owner's progress: stored (unless the lease was lost) and streamed.</summary>
    internal bool Progress(Job job, string owner)
    {
        if (!_store.Update(job, owner)) return false;
        Published(job);
        return true;
    }

    internal void Published(Job job)
    {
        _events.Publish(job.Id, new JobEvent("state", job));
        if (job.IsTerminal || job.State == JobState.Queued) JobCounts();
    }

    internal void Progress(string jobId, JobEvent e) => _events.Publish(jobId, e);

    internal void JobCounts()
    {
        var counts = _store.CountByState();
        foreach (var s in Enum.GetValues<JobState>())
            InferenceMetrics.Jobs.WithLabels(s.ToString().ToLowerInvariant()).Set(counts.GetValueOrDefault(s));
    }

    /// <summary>The Keras JSON of the job's model: given inline, or a registered version's <c>keras_config</c>.</summary>
    public async Task<string> ModelJsonAsync(JobRequest request, CancellationToken ct)
    {
        string json;
        if (request.Model is { } m)
            json = m.ValueKind == JsonValueKind.String ? m.GetString()! : m.GetRawText();
        else if (request.BaseModel is { } b)
        {
            var v = await _registry.ResolveAsync(b.Name, b.Version, ct);
            json = v.Metadata.TryGetValue(KerasConfigKey, out var k) ? k
                : throw ApiException.Unprocessable($"{v} has no {KerasConfigKey} metadata (only models trained here or exported with it can be retrained)");
        }
        else throw ApiException.BadRequest("a job needs 'model' (a Keras JSON model config) or 'base_model' ({\"name\", \"version\"})");
        try { KerasModelJson.Read(json); }
        catch (JsonException e) { throw ApiException.BadRequest($"model: {e.Message}"); }
        return json;
    }

    /// <summary>No optimizer here converges beyond this; a larger rate only overflows the weights to NaN.</summary>
    public const double MaxLearningRate = 10;

    /// <summary>Features scaled beyond this overflow float32 activations long before they could train.</summary>
    public const double MaxRescale = 1e6;

    public static OptimizerSpec Optimizer(CompileOptions c)
    {
        var spec = OptimizerGraph.Get(c.Optimizer);
        if (c.LearningRate is { } lr)
        {
            if (!(lr is > 0 and <= MaxLearningRate)) throw ApiException.BadRequest($"compile.learning_rate must be in (0, {MaxLearningRate}], got {lr}");
            spec = spec with { LearningRate = lr };
        }
        return spec;
    }
}
