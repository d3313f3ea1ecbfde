using System.Text.Json;
using NeuralService.Api.Datasets;
using Microsoft.Extensions.Options;
using NeuralService.Api.Errors;
using NeuralService.Api.Hosting;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Training;
using NeuralService.Inference.Registry;
using NeuralService.Training;
using NeuralService.Training.Callbacks;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Api.Jobs;

/// <summary>Runs one job: Keras JSON → <see cref="Trainer"/> Compile/Fit with progress events → ONNX registered with
/// lineage (job id, dataset, hyperparameters, final metrics) and the Keras config as metadata. Weights and optimizer
/// state are checkpointed to <c>jobs/ID/</c> in the data directory after every epoch and when the run is stopped, and a
/// run of a job that has a checkpoint continues from it.</summary>
public sealed class TrainingRun(JobService jobs, ModelRegistry registry, DatasetStore datasets, IOptions<NeuralOptions> options, ILogger<TrainingRun> log)
{
    /// <summary>The full path of the data directory (error messages are made relative to it).</summary>
    public string DataDirectory => options.Value.DataDirectory();

    /// <summary>The checkpoint of a job after <paramref name="epoch"/> epochs. One file per epoch count, and the previous
    /// one is removed only after the store records the new count, so a process killed between the two writes still
    /// leaves the store pointing at a whole checkpoint that matches the job's history.</summary>
    public string CheckpointPath(string jobId, int epoch) => Path.Combine(CheckpointDirectory(jobId), $"epoch-{epoch}.ckpt");

    /// <summary>Where a job keeps its checkpoint; the id is ours (<c>job-</c> + hex), never a client's path.</summary>
    public string CheckpointDirectory(string jobId) => Path.Combine(options.Value.DataDirectory(), "jobs", jobId);

    /// <summary>Where a job's callbacks write (TensorBoard logs, ModelCheckpoint files, CSV logs). Kept apart from the
    /// checkpoint directory, which goes when the job ends; these files stay for the client to fetch.</summary>
    public string FilesDirectory(string jobId) => Path.Combine(options.Value.DataDirectory(), "job-files", jobId);

    /// <summary>The files a job's callbacks wrote, relative to <see cref="FilesDirectory"/> with '/' separators.</summary>
    public IReadOnlyList<string> Files(string jobId)
    {
        var root = FilesDirectory(jobId);
        return Directory.Exists(root)
            ? Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).Contains(".tmp", StringComparison.Ordinal))
                .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList()
            : [];
    }

    /// <summary>The job's <c>device</c> (auto, cpu, cuda, cuda:N); 400 naming the field when it is none of them.</summary>
    public static DeviceOptions DeviceOf(string? device)
    {
        try { return DeviceOptions.Parse(device); }
        catch (ArgumentException e) { throw ApiException.BadRequest(e.Message); }
    }

    /// <summary>Trains the job. Returns it succeeded, or still running when <paramref name="ct"/> stopped it (the caller
    /// decides between canceled and resumable); throws when training fails.</summary>
    public async Task<Job> RunAsync(Job job, string owner, CancellationToken ct)
    {
        var r = job.Request;
        JobService.CheckSettings(r.Fit ?? new FitSettings(), r.Rescale);
        var json = await jobs.ModelJsonAsync(r, ct);
        var (model, frozen, basePreprocessing) = await jobs.ModelAsync(r, json, ct); // a base_model starts from its stored weights
        var info = datasets.Get(r.Dataset);
        // Raw values: the trainer applies the preprocessing contract (1/255 for 8-bit data, or rescale) as the CLI does.
        var data = datasets.Load(info);
        // The validation data goes through the same contract as the training data (the trainer applies it per batch).
        var validation = r.ValidationDataset is { } vd ? datasets.Load(datasets.Get(vd)) : null;
        var compile = r.Compile!;
        var fit = r.Fit!;
        var callbacks = JobCallbacks.Build(r.Callbacks, FilesDirectory(job.Id), hasValidation: fit.ValidationSplit > 0 || validation is not null);
        using var trainer = new Trainer(model, DeviceOf(r.Device), r.Seed);
        if (r.Rescale is null && basePreprocessing is not null) trainer.Preprocessing = basePreprocessing with { Folded = true };
        JobCompile.Apply(trainer, compile);
        var checkpoint = CheckpointPath(job.Id, job.CheckpointEpoch);
        var initialEpoch = 0;
        if (File.Exists(checkpoint))
        {
            initialEpoch = trainer.LoadCheckpoint(checkpoint);
            log.LogInformation("job {JobId} resumes from its checkpoint after epoch {Epoch}", job.Id, initialEpoch);
        }
        job = job with { Epoch = initialEpoch, History = job.History?.Where(h => h.Epoch <= initialEpoch).ToList() };
        var trainCount = fit.ValidationSplit > 0 ? data.Count - (int)(data.Count * fit.ValidationSplit) : data.Count;
        var progress = new Progress(jobs, job, owner, e => CheckpointPath(job.Id, e), log, ct) { BatchSize = fit.BatchSize, TrainSamples = trainCount };
        var history = await Task.Factory.StartNew(() => trainer.Fit(data, new FitOptions
        {
            Epochs = fit.Epochs, BatchSize = fit.BatchSize, ValidationSplit = fit.ValidationSplit, Shuffle = fit.Shuffle,
            InitialEpoch = initialEpoch, Verbose = 0, Callbacks = [.. callbacks, progress], ValidationData = validation, Rescale = r.Rescale,
        }), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        job = progress.Job with
        {
            Device = trainer.DeviceReport,
            StoppedEpoch = callbacks.OfType<EarlyStopping>().Select(e => e.StoppedEpoch + 1).FirstOrDefault(e => e is not null),
            Files = Files(job.Id) is { Count: > 0 } files ? files : null,
        };
        if (progress.Lost) return job;
        // A model whose loss overflowed has NaN/inf weights: it answers NaN for everything, so it is not registered.
        if (progress.Diverged is { } why) throw ApiException.Unprocessable(why);
        if (ct.IsCancellationRequested) return job;

        foreach (var layer in frozen) layer.Trainable = true; // the registered config keeps the layers' own flags
        var onnx = trainer.ToOnnx(); // scale folded in, contract and class names in metadata_props
        onnx.MetadataProps.Add(new Onnx.StringStringEntryProto { Key = JobService.KerasConfigKey, Value = KerasModelJson.Write(model, indented: false) });
        var final = history.Values.ToDictionary(kv => kv.Key, kv => kv.Value[^1]);
        var hyper = JsonSerializer.Serialize(new { compile, fit, r.Rescale, r.Seed, r.Device, r.BaseModel, r.Callbacks, r.ValidationDataset }, JobJson.Options);
        var version = await registry.RegisterAsync(r.RegisterAs, onnx, new RegisterOptions
        {
            Description = r.BaseModel is { } b ? $"fine-tuned from {b.Name}/{b.Version} by job {job.Id} on {info.Name}" : $"trained by job {job.Id} on {info.Name}",
            Lineage = new Lineage(job.Id, info.Name, hyper, final.Where(kv => double.IsFinite(kv.Value)).ToDictionary()),
        }, CancellationToken.None);
        log.LogInformation("job {JobId} registered {Version}", job.Id, version.ToString());
        return job with { State = JobState.Succeeded, FinishedAt = DateTimeOffset.UtcNow, RegisteredModel = version.Model, RegisteredVersion = version.Version };
    }

    /// <summary>Keeps the job's epoch, history and checkpoint current, reports batch progress (at most four events a
    /// second, with speed and time left) and epoch ends through the store, and stops training on cancel. An epoch cut
    /// short by a stop is not counted: its checkpoint keeps the weights so far and the resumed run trains that epoch again.</summary>
    private sealed class Progress(JobService jobs, Job job, string owner, Func<int, string> checkpointPath, ILogger log, CancellationToken ct) : Callback
    {
        /// <summary>Batch events are at most this often: enough for a live curve, little for the store.</summary>
        private const long BatchEventMs = 250;
        private readonly List<EpochLog> _history = [.. job.History ?? []];
        private readonly System.Diagnostics.Stopwatch _run = System.Diagnostics.Stopwatch.StartNew();
        private readonly System.Diagnostics.Stopwatch _epoch = new();
        private long _lastBatchEvent = -BatchEventMs; // the run's first batch is reported at once
        private long _batchesThisRun;
        private long _samplesThisEpoch;
        private bool _epochComplete;
        // The batch event being written: off the training thread, since a commit costs about as much as tens of steps.
        private Task<bool> _write = Task.FromResult(true);
        public Job Job { get; private set; } = job;
        public bool Lost { get; private set; }
        public string? Diverged { get; private set; }
        public int BatchSize { get; init; } = 32;
        public long TrainSamples { get; init; } = long.MaxValue;

        public override void OnTrainBegin(ITrainingControl control) => _run.Restart(); // the pace leaves out compiling the step

        public override void OnTrainEnd(ITrainingControl control, IReadOnlyDictionary<string, double> logs) => Flush(control);

        /// <summary>Waits for the batch event in flight, so it is stored before what follows it (the epoch's event, the end).</summary>
        private void Flush(ITrainingControl control)
        {
            if (_write.GetAwaiter().GetResult()) return;
            Lost = true;
            control.StopTraining = true;
        }

        public override void OnEpochBegin(ITrainingControl control, int epoch)
        {
            _epochComplete = false;
            _samplesThisEpoch = 0;
            _epoch.Restart();
        }

        public override void OnBatchEnd(ITrainingControl control, int batch, int batches, IReadOnlyDictionary<string, double> logs)
        {
            _epochComplete = batch + 1 == batches;
            _batchesThisRun++;
            _samplesThisEpoch = Math.Min((long)(batch + 1) * BatchSize, TrainSamples);
            if (ct.IsCancellationRequested) control.StopTraining = true;
            if (Diverged is null && logs.TryGetValue("loss", out var loss) && !double.IsFinite(loss))
            {
                Diverged = $"training diverged: the loss became {loss.ToString(System.Globalization.CultureInfo.InvariantCulture)} at epoch {Job.Epoch + 1}, " +
                           $"batch {batch + 1}; lower compile.learning_rate or rescale the features";
                control.StopTraining = true;
            }
            var now = _run.ElapsedMilliseconds;
            // A store slower than four commits a second gets fewer events rather than slowing training down.
            if (now - _lastBatchEvent < BatchEventMs || !_write.IsCompleted) return;
            Flush(control);
            if (Lost) return;
            _lastBatchEvent = now;
            var seconds = _epoch.Elapsed.TotalSeconds;
            var progress = new JobProgress(Job.Id, Job.Epoch + 1, control.Epochs, batch + 1, batches > 0 ? batches : null, control.Step, _samplesThisEpoch,
                seconds > 0 ? _samplesThisEpoch / seconds : 0, Eta(control, batch, batches), Finite(logs), Job.Attempts, DateTimeOffset.UtcNow);
            _write = Task.Run(() =>
            {
                try { return jobs.Progress(progress, owner); }
                catch (Exception e) when (e is System.Data.Common.DbException or TimeoutException)
                {
                    log.LogWarning(e, "job {JobId}: a batch event could not be stored", progress.JobId);
                    return true; // progress is best effort: the next epoch's write decides whether the run goes on
                }
            });
        }

        /// <summary>Batches left (this epoch's and the later epochs') at this run's pace so far, validation included;
        /// unknown when the batches per epoch are.</summary>
        private double? Eta(ITrainingControl control, int batch, int batches)
        {
            if (batches <= 0 || _batchesThisRun == 0) return null;
            var left = (batches - batch - 1) + (long)(control.Epochs - Job.Epoch - 1) * batches;
            return Math.Round(left * _run.Elapsed.TotalSeconds / _batchesThisRun, 1);
        }

        public override void OnEpochEnd(ITrainingControl control, int epoch, IReadOnlyDictionary<string, double> logs)
        {
            Flush(control);
            if (Lost) return;
            var done = _epochComplete ? epoch + 1 : epoch;
            var checkpoint = checkpointPath(done);
            Directory.CreateDirectory(Path.GetDirectoryName(checkpoint)!);
            // Written aside and renamed, so a process killed mid-write never leaves a torn file.
            control.SaveCheckpoint(checkpoint + ".tmp", done);
            File.Move(checkpoint + ".tmp", checkpoint, overwrite: true);
            if (_epochComplete) _history.Add(new EpochLog(epoch + 1, Finite(logs)));
            Job = Job with { Epoch = done, History = _history.ToList(), CheckpointEpoch = done };
            var seconds = _epoch.Elapsed.TotalSeconds;
            var ended = _epochComplete
                ? new JobEpochEvent(Job.Id, epoch + 1, control.Epochs, Finite(logs), control.Step, control.LearningRate, Math.Round(seconds, 3),
                    seconds > 0 ? _samplesThisEpoch / seconds : null, DateTimeOffset.UtcNow)
                : null;
            // The epoch's event is stored with the job's new history, in one transaction.
            if (!jobs.Progress(Job, owner, ended)) { Lost = true; control.StopTraining = true; return; } // another replica took the job over
            if (ended is not null)
                log.LogInformation("job {JobId} epoch {Epoch}/{Epochs}: {Logs:l} ({Seconds:0.00} s)", Job.Id, ended.Epoch, ended.Epochs,
                    string.Join(", ", logs.Select(kv => $"{kv.Key} {kv.Value.ToString("G5", System.Globalization.CultureInfo.InvariantCulture)}")), seconds);
            foreach (var old in Directory.EnumerateFiles(Path.GetDirectoryName(checkpoint)!, "epoch-*.ckpt").Where(f => f != checkpoint).ToList())
                File.Delete(old);
            if (ct.IsCancellationRequested) control.StopTraining = true;
        }

        private static Dictionary<string, double> Finite(IReadOnlyDictionary<string, double> logs) =>
            logs.Where(kv => double.IsFinite(kv.Value)).ToDictionary(kv => kv.Key, kv => kv.Value);
    }
}
