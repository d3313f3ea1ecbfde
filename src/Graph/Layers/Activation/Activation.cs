using NeuralService.Graph.Core;

namespace NeuralService.Graph.Layers;

public sealed record ActivationConfig : LayerConfig
{
    public string? Activation { get; init; } = "linear";
}

/// <summary>y = activation(x), any name of <see cref="Activations.Names"/>; softmax-like ones on the last axis.</summary>
public sealed class Activation : UnaryLayer
{
    public Activation(ActivationConfig config) : base(config)
    {
        Activations.Check(config.Activation);
        Config = config;
    }

    public Activation(string activation, string? name = null) : this(new ActivationConfig { Activation = activation, Name = name }) { }

    public override ActivationConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx) =>
        Activations.Normalize(Config.Activation) == "linear" ? g.Node1("Identity", [x]) : Activations.Apply(g, x, Config.Activation);
}
