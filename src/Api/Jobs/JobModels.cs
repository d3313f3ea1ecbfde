using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NeuralService.Api.Jobs;

public enum JobState { Queued, Running, Succeeded, Failed, Canceled, Interrupted }

/// <summary>A registered version to fine-tune: its architecture (the <c>keras_config</c> metadata) starts from its stored
/// weights, with the layers named in <see cref="Freeze"/> (and any the config marks <c>trainable: false</c>) kept fixed.</summary>
public sealed record ModelReference(
    string Name,
    string? Version = null,
    [property: Description("Layer names whose weights stay as stored (Keras's layer.trainable = False); the others are fine-tuned.")]
    IReadOnlyList<string>? Freeze = null);

/// <summary>Keras's <c>compile</c> arguments. <see cref="Loss"/>, <see cref="LossWeights"/> and <see cref="Metrics"/> take
/// Keras's forms for models with several outputs (<see cref="JobCompile"/> reads them).</summary>
public sealed record CompileOptions(
    string Optimizer = "adam",
    double? LearningRate = null,
    [property: Description("A Keras loss name for every output (default sparse_categorical_crossentropy), a list with one per output in the model's order, or an object of output name → loss name.")]
    JsonElement? Loss = null,
    [property: Description("Metric names for every output ([\"accuracy\"]), a list of lists (one per output, in order), or an object of output name → metric name or list of names (outputs left out get none). Logs name them <output>_<metric> when there are several outputs.")]
    JsonElement? Metrics = null,
    [property: Description("Factor of each output's loss in the total: a list in output order or an object of output name → weight (others 1).")]
    JsonElement? LossWeights = null);

/// <summary>Keras's <c>fit</c> arguments.</summary>
public sealed record FitSettings(int Epochs = 1, int BatchSize = 32, double ValidationSplit = 0, bool Shuffle = true);

/// <summary>A Keras callback as Keras serializes one: <c>{"class_name": "EarlyStopping", "config": {"monitor": "val_loss",
/// "patience": 2}}</c>. <see cref="JobCallbacks"/> lists the classes and the config keys each takes.</summary>
public sealed record CallbackSpec(
    [property: Description("EarlyStopping, ReduceLROnPlateau, ModelCheckpoint, TensorBoard, CSVLogger or TerminateOnNaN.")]
    string ClassName,
    [property: Description("The callback's Keras arguments in snake_case (EarlyStopping: monitor, min_delta, patience, mode, baseline, restore_best_weights, start_from_epoch; ReduceLROnPlateau: monitor, factor, patience, mode, min_delta, cooldown, min_lr; ModelCheckpoint: filepath (a file name inside the job's directory), monitor, save_best_only, mode; TensorBoard and CSVLogger write inside the job's directory). Unknown keys are refused.")]
    JsonElement? Config = null);

/// <summary>A training job: a Keras JSON model (or a registered model's architecture), a dataset, compile and fit
/// settings, and the registry name the trained model is registered under.</summary>
public sealed record JobRequest(
    JsonElement? Model,
    ModelReference? BaseModel,
    string Dataset,
    CompileOptions? Compile,
    FitSettings? Fit,
    string? Device,
    string RegisterAs,
    /// <summary>Features are multiplied by this (1/255 for images stored as bytes).</summary>
    double? Rescale = null,
    [property: Description("Seeds the initial weights (0: each drawn from its layer's name alone; a base model's weights are kept), dropout masks and shuffles.")]
    int Seed = 0,
    [property: Description("Keras callbacks run during fit, in order (see CallbackSpec).")]
    IReadOnlyList<CallbackSpec>? Callbacks = null,
    [property: Description("A dataset (id or name) evaluated after every epoch, as Keras's validation_data: its metrics are logged as val_*. Not together with fit.validation_split.")]
    string? ValidationDataset = null);

public sealed record EpochLog(int Epoch, IReadOnlyDictionary<string, double> Metrics);

public sealed record Job(
    string Id, JobState State, JobRequest Request, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt = null, DateTimeOffset? FinishedAt = null,
    int Epoch = 0, int? Batch = null, IReadOnlyList<EpochLog>? History = null, string? Error = null,
    string? RegisteredModel = null, int? RegisteredVersion = null, string? Device = null,
    /// <summary>How many times a worker has started it (a resumed job counts each start).</summary>
    int Attempts = 0,
    /// <summary>The process (or Kubernetes Job) that runs or last ran it.</summary>
    string? Worker = null,
    /// <summary>Epochs kept in its checkpoint; a resumed run continues from there.</summary>
    int CheckpointEpoch = 0,
    /// <summary>The epoch (1-based) at which an EarlyStopping callback ended training, if one did.</summary>
    int? StoppedEpoch = null,
    /// <summary>Files the callbacks wrote (TensorBoard event files, ModelCheckpoint files, CSV logs), relative to the job's
    /// directory; each can be downloaded from <c>/v1/jobs/{id}/files/{path}</c>.</summary>
    IReadOnlyList<string>? Files = null,
    [property: Description("Live progress of a running job (its latest batch event): epoch, batch of batches, samples/s, ETA, running metrics.")]
    JobProgress? Progress = null,
    [property: Description("The id of the job's latest event: resume its event stream after it (Last-Event-ID or ?after=).")]
    long? LastEventId = null)
{
    [JsonIgnore] public bool IsTerminal => State is JobState.Succeeded or JobState.Failed or JobState.Canceled or JobState.Interrupted;
}

public static class JobJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
}
