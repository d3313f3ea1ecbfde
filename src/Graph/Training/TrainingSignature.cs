using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Training;

/// <summary>What a graph input or output is for.</summary>
public enum TensorRole
{
    /// <summary>A model input (x).</summary>
    Feature,
    /// <summary>A label (y) of one output.</summary>
    Target,
    SampleWeight,
    LearningRate,
    /// <summary>Keras's <c>iterations</c>: steps already applied (int64 scalar).</summary>
    Step,
    /// <summary>A trainable parameter.</summary>
    Parameter,
    /// <summary>Non-trainable state updated by the forward pass (BatchNorm moving statistics).</summary>
    State,
    OptimizerState,
    Loss,
    Metric,
    /// <summary>A model output fetched for metrics computed on the host (only with <c>predictionOutputs</c>).</summary>
    Prediction,
}

/// <summary>One input or output of a compiled graph.</summary>
public sealed record TensorInfo(string Name, DataType DType, Shape Shape, TensorRole Role);

/// <summary>A tensor the trainer keeps between steps: read from <see cref="Input"/>, its next value written to
/// <see cref="Output"/> (null in an eval graph, which only reads it). <see cref="Initial"/> gives its first value:
/// the weight's current data for parameters and state, the slot's fill value for optimizer state.</summary>
public sealed record PersistentTensor(string Input, string? Output, long[] Shape, TensorRole Role, Func<float[]> Initial)
{
    /// <summary>The layer weight behind a parameter or state tensor of a Keras model (null for imported graphs and optimizer state).</summary>
    public Weight? Weight { get; init; }
    /// <summary>For optimizer state: the parameter it belongs to (null for a global slot) and the slot name.</summary>
    public string? Parameter { get; init; }
    public string? Slot { get; init; }
    /// <summary>Set when every element starts at this one value (optimizer slots): what <see cref="Initial"/> gives, without
    /// an array as large as the tensor.</summary>
    public float? Fill { get; init; }
    public long ElementCount => Shape.Aggregate(1L, (p, d) => p * d);
}

/// <summary>The names and roles of a compiled graph's inputs and outputs, in graph order, for the trainer to bind.</summary>
public sealed record TrainingSignature
{
    public required IReadOnlyList<TensorInfo> Inputs { get; init; }
    public required IReadOnlyList<TensorInfo> Outputs { get; init; }
    /// <summary>Trainable parameters, in input order.</summary>
    public required IReadOnlyList<PersistentTensor> Parameters { get; init; }
    /// <summary>Non-trainable state updated in training mode.</summary>
    public required IReadOnlyList<PersistentTensor> State { get; init; }
    public required IReadOnlyList<PersistentTensor> OptimizerState { get; init; }
    /// <summary>Parameters baked into the graph as constants (frozen layers, non-trainable weights never updated).</summary>
    public required IReadOnlyList<string> Frozen { get; init; }
    public required string LossOutput { get; init; }
    public required IReadOnlyList<string> MetricOutputs { get; init; }
    /// <summary>The model's outputs as extra graph outputs, one per model output (empty unless requested).</summary>
    public IReadOnlyList<string> PredictionOutputs { get; init; } = [];
    /// <summary>Graph output → Keras's log name for the loss, per-output losses and metrics: <c>loss</c>,
    /// <c>accuracy</c> (one output) or <c>{output}_loss</c>, <c>{output}_accuracy</c> (several).</summary>
    public IReadOnlyDictionary<string, string> LogNames { get; init; } = new Dictionary<string, string>();
    /// <summary>The per-output loss outputs (several outputs only), in output order.</summary>
    public IEnumerable<string> OutputLosses => Outputs.Where(o => o.Role == TensorRole.Loss && o.Name != LossOutput).Select(o => o.Name);

    public IEnumerable<TensorInfo> InputsOf(TensorRole role) => Inputs.Where(i => i.Role == role);
    public IEnumerable<string> Features => InputsOf(TensorRole.Feature).Select(i => i.Name);
    public IEnumerable<string> Targets => InputsOf(TensorRole.Target).Select(i => i.Name);
    public string? SampleWeight => InputsOf(TensorRole.SampleWeight).Select(i => i.Name).FirstOrDefault();
    public string? LearningRate => InputsOf(TensorRole.LearningRate).Select(i => i.Name).FirstOrDefault();
    public string? Step => InputsOf(TensorRole.Step).Select(i => i.Name).FirstOrDefault();
    /// <summary>Every tensor kept between steps: parameters, state, optimizer state.</summary>
    public IEnumerable<PersistentTensor> Persistent => Parameters.Concat(State).Concat(OptimizerState);
}

/// <summary>A compiled train-step or eval graph and its signature.</summary>
public sealed record CompiledGraph(global::Onnx.ModelProto Model, TrainingSignature Signature);
