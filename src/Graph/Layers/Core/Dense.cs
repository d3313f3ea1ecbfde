using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;

namespace NeuralService.Graph.Layers;

public sealed record DenseConfig : LayerConfig
{
    public int Units { get; init; }
    public string? Activation { get; init; } = "linear";
    public bool UseBias { get; init; } = true;
    public ObjectSpec KernelInitializer { get; init; } = Specs.GlorotUniform;
    public ObjectSpec BiasInitializer { get; init; } = Specs.Zeros;
    public ObjectSpec? KernelRegularizer { get; init; }
    public ObjectSpec? BiasRegularizer { get; init; }
    public ObjectSpec? ActivityRegularizer { get; init; }
    public ObjectSpec? KernelConstraint { get; init; }
    public ObjectSpec? BiasConstraint { get; init; }
    public object? LoraRank { get; init; }
    public double? LoraAlpha { get; init; }
    /// <summary>Keras 3.8+ writes it (null for float layers); kept as written.</summary>
    public System.Text.Json.Nodes.JsonNode? QuantizationConfig { get; init; }
}

/// <summary>y = activation(x·W + b) on the last axis; W is [in, units] as in Keras.</summary>
public sealed class Dense : UnaryLayer
{
    private Weight? _kernel;
    private Weight? _bias;

    public Dense(DenseConfig config) : base(config)
    {
        if (config.Units <= 0) throw new ArgumentException($"Dense units must be positive, got {config.Units}");
        Activations.Check(config.Activation);
        Config = config;
    }

    public Dense(int units, string activation = "linear", bool useBias = true, string? name = null)
        : this(new DenseConfig { Units = units, Activation = activation, UseBias = useBias, Name = name }) { }

    public override DenseConfig Config { get; }

    protected override void Build(TensorType input)
    {
        var inDim = input.Shape[-1];
        if (!inDim.IsKnown) throw new ArgumentException($"the last input dim must be known, got {input.Shape}");
        _kernel = AddWeight("kernel", [inDim.Known, Config.Units], Config.KernelInitializer, regularizer: Config.KernelRegularizer, constraint: Config.KernelConstraint);
        if (Config.UseBias) _bias = AddWeight("bias", [Config.Units], Config.BiasInitializer, regularizer: Config.BiasRegularizer, constraint: Config.BiasConstraint);
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var y = g.Node1("MatMul", [x, Use(g, _kernel!)]);
        if (_bias is not null) y = g.Node1("Add", [y, Use(g, _bias)]);
        return Activations.Apply(g, y, Config.Activation);
    }
}
