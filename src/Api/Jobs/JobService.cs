using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using NeuralService.Api.Datasets;
using NeuralService.Api.Errors;
using NeuralService.Api.Hosting;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Training;
using NeuralService.Inference.Registry;

namespace NeuralService.Api.Jobs;

/// <summary>Accepts, lists and cancels training jobs; a bounded queue feeds the <see cref="JobWorker"/>s.</summary>
public sealed class JobService
{
    public const string KerasConfigKey = "keras_config";
    private readonly JobStore _store;
    private readonly JobEvents _events;
    private readonly ModelRegistry _registry;
    private readonly DatasetStore _datasets;
    private readonly Channel<string> _queue;
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new(StringComparer.Ordinal);
    private readonly object _lock = new();

    public JobService(JobStore store, JobEvents events, ModelRegistry registry, DatasetStore datasets, IOptions<NeuralOptions> options)
    {
        _store = store;
        _events = events;
        _registry = registry;
        _datasets = datasets;
        Capacity = options.Value.JobQueueCapacity;
        _queue = Channel.CreateUnbounded<string>();
    }

    public int Capacity { get; }
    internal ChannelReader<string> Queue => _queue.Reader;
    public JobStore Store => _store;
    public JobEvents Events => _events;

    public async Task<Job> SubmitAsync(JobRequest request, CancellationToken ct)
    {
        ModelName.Check(request.RegisterAs, "register_as");
        await ModelJsonAsync(request, ct); // the model must parse now, not fail later in the queue
        _datasets.Get(request.Dataset);
        var compile = request.Compile ?? new CompileOptions();
        Optimizer(compile);
        if (!Losses.IsKnown(compile.Loss)) throw ApiException.BadRequest($"unknown loss '{compile.Loss}'");
        var fit = request.Fit ?? new FitSettings();
        if (fit.Epochs is < 1 or > 100_000) throw ApiException.BadRequest($"fit.epochs must be in 1..100000, got {fit.Epochs}");
        if (fit.BatchSize is < 1 or > 1 << 20) throw ApiException.BadRequest($"fit.batch_size must be in 1..1048576, got {fit.BatchSize}");
        if (fit.ValidationSplit is < 0 or >= 1) throw ApiException.BadRequest($"fit.validation_split must be in [0, 1), got {fit.ValidationSplit}");
        TrainingRun.DeviceOf(request.Device);
        Job job;
        lock (_lock)
        {
            if (_store.List(JobState.Queued).Count >= Capacity) throw ApiException.Overloaded($"{Capacity} training jobs are already queued; retry later");
            job = new Job("job-" + Guid.NewGuid().ToString("N")[..16], JobState.Queued, request with { Compile = compile, Fit = fit }, DateTimeOffset.UtcNow);
            _store.Save(job);
        }
        _queue.Writer.TryWrite(job.Id);
        JobCounts();
        return job;
    }

    public Job Get(string id) => _store.Get(id) ?? throw ApiException.NotFound($"no job '{id}'");
    public IReadOnlyList<Job> List() => _store.List();

    public Job Cancel(string id)
    {
        lock (_lock)
        {
            var job = Get(id);
            if (job.IsTerminal) throw ApiException.Conflict($"job '{id}' already ended ({job.State.ToString().ToLowerInvariant()})");
            if (job.State == JobState.Queued)
            {
                job = job with { State = JobState.Canceled, FinishedAt = DateTimeOffset.UtcNow, Error = "canceled before it started" };
                Update(job);
                return job;
            }
            if (_running.TryGetValue(id, out var cts)) cts.Cancel();
            return job;
        }
    }

    /// <summary>Marks a queued job running unless it was canceled meanwhile; returns its cancellation source.</summary>
    internal (Job Job, CancellationTokenSource Cts)? Start(string id)
    {
        lock (_lock)
        {
            var job = _store.Get(id);
            if (job is not { State: JobState.Queued }) return null;
            var cts = new CancellationTokenSource();
            _running[id] = cts;
            job = job with { State = JobState.Running, StartedAt = DateTimeOffset.UtcNow };
            Update(job);
            return (job, cts);
        }
    }

    internal void Finish(Job job)
    {
        lock (_lock)
        {
            if (_running.TryRemove(job.Id, out var cts)) cts.Dispose();
            Update(job);
        }
    }

    internal void Update(Job job)
    {
        _store.Save(job);
        _events.Publish(job.Id, new JobEvent("state", job));
        if (job.IsTerminal) JobCounts();
    }

    internal void Progress(string jobId, JobEvent e) => _events.Publish(jobId, e);

    /// <summary>At start: jobs that were running when the process stopped are interrupted; queued ones run again.</summary>
    internal void Recover()
    {
        foreach (var job in _store.List(JobState.Running))
            Update(job with { State = JobState.Interrupted, FinishedAt = DateTimeOffset.UtcNow, Error = "the service stopped while this job was running; submit it again" });
        foreach (var job in _store.List(JobState.Queued)) _queue.Writer.TryWrite(job.Id);
        JobCounts();
    }

    internal void CancelAll()
    {
        foreach (var cts in _running.Values) cts.Cancel();
    }

    private void JobCounts()
    {
        var counts = _store.List().GroupBy(j => j.State).ToDictionary(g => g.Key, g => g.Count());
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

    public static OptimizerSpec Optimizer(CompileOptions c)
    {
        var spec = OptimizerGraph.Get(c.Optimizer);
        if (c.LearningRate is { } lr)
        {
            if (!(lr > 0) || !double.IsFinite(lr)) throw ApiException.BadRequest($"compile.learning_rate must be positive, got {lr}");
            spec = spec with { LearningRate = lr };
        }
        return spec;
    }
}
