using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;

namespace NeuralService.Graph.Layers;

public sealed record PReLUConfig : LayerConfig
{
    public ObjectSpec AlphaInitializer { get; init; } = Specs.Zeros;
    public ObjectSpec? AlphaRegularizer { get; init; }
    public ObjectSpec? AlphaConstraint { get; init; }
    /// <summary>1-based axes (batch excluded) along which alpha is shared (its size there is 1).</summary>
    public int[]? SharedAxes { get; init; }
}

/// <summary>y = x for x ≥ 0, alpha·x otherwise, alpha learned with shape input_shape[1:] except 1 on the shared axes.</summary>
public sealed class PReLU : UnaryLayer
{
    private Weight? _alpha;

    public PReLU(PReLUConfig config) : base(config)
    {
        if (config.SharedAxes?.Where(a => a < 1).ToArray() is [var bad, ..])
            throw new ArgumentException($"PReLU shared_axes are 1-based axes after the batch, got {bad}");
        if (!Initializers.IsKnown(config.AlphaInitializer)) throw new ArgumentException($"unknown initializer '{config.AlphaInitializer.ClassName}'");
        Config = config;
    }

    public PReLU(int[]? sharedAxes = null, string? name = null) : this(new PReLUConfig { SharedAxes = sharedAxes, Name = name }) { }

    public override PReLUConfig Config { get; }

    protected override void Build(TensorType input)
    {
        var shape = new long[input.Shape.Rank - 1];
        for (var i = 1; i < input.Shape.Rank; i++)
        {
            var d = input.Shape[i];
            if (Config.SharedAxes?.Contains(i) == true) shape[i - 1] = 1;
            else if (d.IsKnown) shape[i - 1] = d.Known;
            else throw new ArgumentException($"axis {i} of {input.Shape} is unknown; share it with shared_axes");
        }
        if (Config.SharedAxes?.Where(a => a >= input.Shape.Rank).ToArray() is [var bad, ..])
            throw new ArgumentException($"shared axis {bad} is outside input {input.Shape}");
        _alpha = AddWeight("alpha", shape, Config.AlphaInitializer, regularizer: Config.AlphaRegularizer, constraint: Config.AlphaConstraint);
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx) => g.Node1("PRelu", [x, Use(g, _alpha!)]);
}
