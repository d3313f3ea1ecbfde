using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using NeuralService.Graph.Keras;

namespace NeuralService.Graph.Layers;

/// <summary>The arguments shared by Keras's SimpleRNN, LSTM and GRU (cell arguments and RNN wrapper arguments).
/// Keras 2's legacy keys (<c>time_major</c>, <c>implementation</c>) are read and written back only when present.</summary>
public abstract record RecurrentConfig : LayerConfig
{
    public int Units { get; init; }
    public string? Activation { get; init; } = "tanh";
    public bool UseBias { get; init; } = true;
    public ObjectSpec KernelInitializer { get; init; } = Specs.GlorotUniform;
    public ObjectSpec RecurrentInitializer { get; init; } = Specs.Orthogonal;
    public ObjectSpec BiasInitializer { get; init; } = Specs.Zeros;
    public ObjectSpec? KernelRegularizer { get; init; }
    public ObjectSpec? RecurrentRegularizer { get; init; }
    public ObjectSpec? BiasRegularizer { get; init; }
    public ObjectSpec? ActivityRegularizer { get; init; }
    public ObjectSpec? KernelConstraint { get; init; }
    public ObjectSpec? RecurrentConstraint { get; init; }
    public ObjectSpec? BiasConstraint { get; init; }
    public double Dropout { get; init; }
    public double RecurrentDropout { get; init; }
    public int? Seed { get; init; }
    public bool ReturnSequences { get; init; }
    public bool ReturnState { get; init; }
    public bool GoBackwards { get; init; }
    public bool Stateful { get; init; }
    public bool Unroll { get; init; }
    public bool ZeroOutputForMask { get; init; }

    /// <summary>Keras 2: inputs are [time, batch, features].</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? TimeMajor { get; init; }

    /// <summary>Keras 3's <c>use_cudnn</c> ("auto" or a bool); it does not change the numbers.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonNode? UseCudnn { get; init; }
}

public sealed record SimpleRNNConfig : RecurrentConfig;

public sealed record LSTMConfig : RecurrentConfig
{
    public string? RecurrentActivation { get; init; } = "sigmoid";
    public bool UnitForgetBias { get; init; } = true;

    /// <summary>Keras 2's kernel-splitting mode (1 or 2); it does not change the numbers.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Implementation { get; init; }
}

public sealed record GRUConfig : RecurrentConfig
{
    public string? RecurrentActivation { get; init; } = "sigmoid";
    /// <summary>Keras 3 default True (cuDNN-compatible): the reset gate multiplies h·U_h + b_rh, and the bias is [2, 3·units].</summary>
    public bool ResetAfter { get; init; } = true;

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Implementation { get; init; }
}

/// <summary>How a recurrent layer is emitted. <see cref="Auto"/>: fused ONNX op in inference without a mask, a Scan
/// over the cell otherwise.</summary>
public enum RecurrentForm
{
    Auto,
    Fused,
    /// <summary>The cell unrolled over a known number of steps (graph size grows with the length).</summary>
    Decomposed,
    /// <summary>The cell as the body of one ONNX Scan (open length; differentiated by a reverse Scan).</summary>
    Scan,
}
