using System.Text.Json.Nodes;
using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Layers;

public sealed record EmbeddingConfig : LayerConfig
{
    public int InputDim { get; init; }
    public int OutputDim { get; init; }
    /// <summary>Keras's "uniform": U(−0.05, 0.05).</summary>
    public ObjectSpec EmbeddingsInitializer { get; init; } = Specs.RandomUniform;
    public ObjectSpec? EmbeddingsRegularizer { get; init; }
    public ObjectSpec? ActivityRegularizer { get; init; }
    public ObjectSpec? EmbeddingsConstraint { get; init; }
    public bool MaskZero { get; init; }
    /// <summary>Keras 2 only: the fixed sequence length (informational; the input shape decides).</summary>
    public int? InputLength { get; init; }
    public int? LoraRank { get; init; }
    public double? LoraAlpha { get; init; }
    public JsonNode? QuantizationConfig { get; init; }
}

/// <summary>y[…, :] = E[x[…], :] with E of shape [input_dim, output_dim]. With mask_zero the output carries the
/// Keras mask x ≠ 0 (bool, the input's shape).</summary>
public sealed class Embedding : UnaryLayer
{
    private Weight? _embeddings;

    public Embedding(EmbeddingConfig config) : base(config)
    {
        if (config.InputDim <= 0) throw new ArgumentException($"Embedding input_dim must be positive, got {config.InputDim}");
        if (config.OutputDim <= 0) throw new ArgumentException($"Embedding output_dim must be positive, got {config.OutputDim}");
        if (config.InputLength is <= 0) throw new ArgumentException($"Embedding input_length must be positive, got {config.InputLength}");
        if (!Initializers.IsKnown(config.EmbeddingsInitializer))
            throw new ArgumentException($"unknown initializer '{config.EmbeddingsInitializer.ClassName}'");
        Config = config;
    }

    public Embedding(int inputDim, int outputDim, bool maskZero = false, string? name = null)
        : this(new EmbeddingConfig { InputDim = inputDim, OutputDim = outputDim, MaskZero = maskZero, Name = name }) { }

    public override EmbeddingConfig Config { get; }
    public Weight EmbeddingsWeight => _embeddings ?? throw new InvalidOperationException($"layer '{Name}' is not built");

    protected override void Build(TensorType input) =>
        _embeddings = AddWeight("embeddings", [Config.InputDim, Config.OutputDim], Config.EmbeddingsInitializer,
            regularizer: Config.EmbeddingsRegularizer, constraint: Config.EmbeddingsConstraint);

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var idx = x.DType is DataType.Int64 or DataType.Int32 ? x : g.Node1("Cast", [x], [Attr.Int("to", (long)DataType.Int64)]);
        var y = g.Node1("Gather", [Use(g, _embeddings!), idx], [Attr.Int("axis", 0)]);
        if (Config.MaskZero)
        {
            var mask = g.Node1("Not", [g.Node1("Equal", [x, g.Scalar(0, x.DType)])], name: "mask");
            ctx.SetMask(y, mask);
        }
        return y;
    }
}
