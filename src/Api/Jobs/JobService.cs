using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Options;
using NeuralService.Api.Datasets;
using NeuralService.Api.Errors;
using NeuralService.Api.Hosting;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Models;
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
    private readonly ConcurrentDictionary<string, ChildRun> _children = new(StringComparer.Ordinal);
    private readonly JobOptions _jobOptions;

    /// <summary>A job running in this process: its owner name and how to stop it.</summary>
    internal sealed record LocalRun(string Owner, CancellationTokenSource Cancel)
    {
        /// <summary>Set when the lease was lost to another replica: the run stops and writes nothing more.</summary>
        public bool Lost { get; set; }
    }

    /// <summary>A job this process runs in a child process (<see cref="JobProcessRunner"/>).</summary>
    internal sealed class ChildRun
    {
        private long _cancelTicks;
        public int ProcessId { get; set; }
        /// <summary>When a cancel was asked for (the child is killed if it has not ended some seconds later).</summary>
        public DateTime? CancelRequestedAt => Interlocked.Read(ref _cancelTicks) is var t and > 0 ? new DateTime(t, DateTimeKind.Utc) : null;
        public void RequestCancel() => Interlocked.CompareExchange(ref _cancelTicks, DateTime.UtcNow.Ticks, 0);
    }

    public JobService(JobStore store, JobEvents events, ModelRegistry registry, DatasetStore datasets, IOptions<NeuralOptions> options,
        IOptions<JobOptions> jobOptions, Kubernetes.KubernetesJobLauncher? kubernetes = null)
    {
        _jobOptions = jobOptions.Value;
        SubmitBudget = SubmitBudgetOf(_jobOptions, kubernetes?.Options.MemoryLimit);
        _store = store;
        _events = events;
        _registry = registry;
        _datasets = datasets;
        Capacity = options.Value.JobQueueCapacity;
        _store.Appended += _events.Notify;
    }

    public int Capacity { get; }

    /// <summary>The memory a job's estimate is checked against at submit: <c>Jobs:MaxMemoryBytes</c>; unset, the default
    /// budget of this service's child processes, or with Kubernetes Jobs their pods' memory limit
    /// (<c>Jobs:Kubernetes:MemoryLimit</c>; none set: no check, the cluster decides).</summary>
    public long? SubmitBudget { get; }

    internal static long? SubmitBudgetOf(JobOptions o, string? kubernetesMemoryLimit)
    {
        if (o.MaxMemoryBytes is { } set) return set;
        if (!o.IsKubernetes) return o.MemoryBudget;
        if (string.IsNullOrWhiteSpace(kubernetesMemoryLimit)) return null;
        try { return (long)new k8s.Models.ResourceQuantity(kubernetesMemoryLimit).ToDecimal(); }
        catch (Exception e) when (e is FormatException or ArgumentException or OverflowException) { return null; }
    }
    public JobStore Store => _store;
    public JobEvents Events => _events;
    internal IReadOnlyDictionary<string, LocalRun> Local => _local;
    /// <summary>True for a job this process runs, in itself or in a child process it watches.</summary>
    public bool IsLocal(string id) => _local.ContainsKey(id) || _children.ContainsKey(id);
    /// <summary>The process id of the child process running a job, when this process runs it in one.</summary>
    public int? ChildProcessOf(string id) => _children.TryGetValue(id, out var c) && c.ProcessId > 0 ? c.ProcessId : null;

    public async Task<Job> SubmitAsync(JobRequest request, CancellationToken ct)
    {
        ModelName.Check(request.RegisterAs, "register_as");
        var json = await ModelJsonAsync(request, ct); // the model must parse now, not fail later in the queue
        request = await PinBaseModelAsync(request, ct);
        var dataset = _datasets.Get(request.Dataset);
        var compile = request.Compile ?? new CompileOptions();
        // Compile settings and the dataset's arrays are checked against the model's inputs and outputs now (no session is
        // created), so a job that cannot train is refused with the field to fix rather than failing in the queue.
        var model = (await ModelAsync(request, json, ct)).Model; // a base_model starts from its stored weights
        using (var trainer = new NeuralService.Training.Trainer(model))
        {
            JobCompile.Apply(trainer, compile);
            JobDatasetCheck.Check(trainer, _datasets, dataset, "dataset");
            if (request.ValidationDataset is { } vd) JobDatasetCheck.Check(trainer, _datasets, _datasets.Get(vd), "validation_dataset");
        }
        var fit = request.Fit ?? new FitSettings();
        CheckSettings(fit, request.Rescale);
        CheckMemory(model, compile, fit);
        if (request.ValidationDataset is not null && fit.ValidationSplit > 0)
            throw ApiException.BadRequest("give fit.validation_split or validation_dataset, not both (Keras's validation_data replaces the split)");
        JobCallbacks.Check(request.Callbacks, hasValidation: fit.ValidationSplit > 0 || request.ValidationDataset is not null);
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

    /// <summary>Refuses a job whose model cannot fit in <c>Jobs:MaxMemoryBytes</c> (<see cref="JobMemoryEstimate"/>), before
    /// anything is stored or allocated.</summary>
    private void CheckMemory(NeuralService.Graph.Models.Model model, CompileOptions compile, FitSettings fit)
    {
        if (model.Weights.FirstOrDefault(w => w.Size > Array.MaxLength) is { } huge)
            throw ApiException.BadRequest($"model: weight '{huge.Path}' of shape [{string.Join(",", huge.Shape)}] has {huge.Size} values, more than one tensor can hold ({Array.MaxLength})");
        if (SubmitBudget is not { } budget) return;
        var estimate = JobMemoryEstimate.Of(model, Optimizer(compile), fit.BatchSize);
        if (estimate.TotalBytes > budget)
            throw ApiException.BadRequest(estimate.Describe(budget, _jobOptions is { MaxMemoryBytes: null, IsKubernetes: true } ? "Jobs:Kubernetes:MemoryLimit" : "Jobs:MaxMemoryBytes"));
    }

    public Job Get(string id) => _store.Get(id) ?? throw ApiException.NotFound($"no job '{id}'");

    /// <summary>The job as <c>GET /v1/jobs/{id}</c> shows it: with the id of its latest event and, while it runs, the
    /// progress its current run last reported (from the store, so whichever process runs it).</summary>
    public Job Describe(string id)
    {
        // The event id first: an epoch recorded between the two reads is then in the history and streamed again after
        // that id (a reader skips the repeat), never left out of both.
        var lastEventId = _store.LastEventId(id) ?? 0;
        var job = Get(id);
        var progress = job.State == JobState.Running && _store.LatestProgress(id) is { } p && p.Attempt == job.Attempts && p.Epoch > job.Epoch ? p : null;
        return job with { Progress = progress, Batch = progress?.Batch ?? job.Batch, LastEventId = lastEventId };
    }
    public IReadOnlyList<Job> List() => _store.List();

    /// <summary>A page of the job's log lines after line <paramref name="after"/> (404 for an unknown job, 400 for a
    /// negative <paramref name="after"/> or a limit outside 1–<paramref name="maxLimit"/>).</summary>
    public JobLogPage Logs(string id, long? after, int? limit, int defaultLimit, int maxLimit)
    {
        if (after is < 0) throw ApiException.BadRequest($"after must be a non-negative log line id, got {after}");
        if (limit is { } l && (l < 1 || l > maxLimit)) throw ApiException.BadRequest($"limit must be between 1 and {maxLimit}, got {l}");
        Get(id);
        var n = limit ?? defaultLimit;
        var from = after ?? 0;
        var lines = _store.Logs(id, from, n + 1);
        var page = lines.Take(n).ToList();
        return new JobLogPage(id, page, page.Count > 0 ? page[^1].Id : from, lines.Count > n);
    }

    /// <summary>Removes an ended job with its events and log lines (its checkpoint and files are the caller's to remove); a queued or running job is refused with
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
        _store.DeleteEvents(id);
        _store.DeleteLogs(id);
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
        if (job.State == JobState.Running && _store.RequestCancel(id))
        {
            if (_local.TryGetValue(id, out var run)) run.Cancel.Cancel();
            if (_children.TryGetValue(id, out var child)) child.RequestCancel();
        }
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

    internal ChildRun TrackChild(Job job)
    {
        var run = new ChildRun();
        _children[job.Id] = run;
        Published(job);
        return run;
    }

    internal void UntrackChild(string id) => _children.TryRemove(id, out _);

    /// <summary>The run's token source is left undisposed: the supervisor may still be cancelling it from its last look at
    /// <see cref="Local"/>, and a source without timers holds nothing to release.</summary>
    internal void Untrack(string id) => _local.TryRemove(id, out _);

    /// <summary>The owner's progress: stored with the epoch that ended (unless the lease was lost); the store appends
    /// the events that streams read.</summary>
    internal bool Progress(Job job, string owner, JobEpochEvent? epoch = null) => _store.Update(job, owner, epoch);

    /// <summary>A batch event of a job <paramref name="owner"/> runs; false when it no longer owns it.</summary>
    internal bool Progress(JobProgress progress, string owner) => _store.AppendProgress(progress, owner) is not null;

    /// <summary>A state change written to the store (which appended its event there): updates the job gauges.</summary>
    internal void Published(Job job)
    {
        if (job.IsTerminal || job.State == JobState.Queued) JobCounts();
    }

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
        if (request.Model is not null && request.BaseModel is not null)
            throw ApiException.BadRequest("give either 'model' (trained afresh) or 'base_model' (fine-tuned from its stored weights), not both");
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
        // A model given in the request that cannot be built (a value of the wrong type, such as units 1e9) is a bad field
        // of this request; a registered model's stored config that cannot is not the client's fault (422).
        catch (NeuralService.Graph.Core.GraphException e) when (request.Model is not null) { throw ApiException.BadRequest($"model: {e.Message}"); }
        return json;
    }

    /// <summary>The job's model: its Keras JSON read afresh and, for a <c>base_model</c>, that version's stored weights
    /// loaded and the layers in <c>base_model.freeze</c> frozen (422 when the weights do not fit the config). Also the
    /// layers this job froze, which are trainable again in the config registered after it: freezing is the job's choice; and
    /// the base version's preprocessing contract, which the fine-tune keeps unless the job gives its own rescale.</summary>
    public async Task<(Model Model, IReadOnlyList<NeuralService.Graph.Layers.Layer> Frozen, NeuralService.Training.PreprocessingContract? Preprocessing)> ModelAsync(
        JobRequest request, string json, CancellationToken ct)
    {
        var model = KerasModelJson.Read(json);
        if (request.Model is not null || request.BaseModel is not { } b) return (model, [], null);
        var v = await _registry.ResolveAsync(b.Name, b.Version, ct);
        var stored = NeuralService.Graph.Onnx.OnnxModels.Load(_registry.FilePath(v));
        BaseWeights.Load(model, stored, v.ToString());
        // The base version's inputs were scaled by its contract; fine-tuning on other terms would shift what its weights see.
        return (model, BaseWeights.Freeze(model, b.Freeze), NeuralService.Training.PreprocessingContract.FromOnnx(stored));
    }

    /// <summary>A <c>base_model</c> given by alias or as the latest version is pinned to the version it is now, so the
    /// job (and a resumed run of it) fine-tunes what the submitter saw, whatever is registered meanwhile.</summary>
    private async Task<JobRequest> PinBaseModelAsync(JobRequest request, CancellationToken ct)
    {
        if (request.Model is not null || request.BaseModel is not { } b) return request;
        var v = await _registry.ResolveAsync(b.Name, b.Version, ct);
        return request with { BaseModel = b with { Version = v.Version.ToString(System.Globalization.CultureInfo.InvariantCulture) } };
    }

    /// <summary>No optimizer here converges beyond this; a larger rate only overflows the weights to NaN.</summary>
    public const double MaxLearningRate = 10;

    /// <summary>Features scaled beyond this overflow float32 activations long before they could train.</summary>
    public const double MaxRescale = 1e6;

    public static OptimizerSpec Optimizer(CompileOptions c)
    {
        OptimizerSpec spec;
        try { spec = OptimizerGraph.Get(c.Optimizer); }
        catch (ArgumentException e) { throw ApiException.BadRequest($"compile.optimizer: {e.Message}"); }
        if (c.LearningRate is { } lr)
        {
            if (!(lr is > 0 and <= MaxLearningRate)) throw ApiException.BadRequest($"compile.learning_rate must be in (0, {MaxLearningRate}], got {lr}");
            spec = spec with { LearningRate = lr };
        }
        return spec;
    }
}
