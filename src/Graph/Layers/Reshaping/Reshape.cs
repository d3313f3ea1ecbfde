using NeuralService.Graph.Core;

namespace NeuralService.Graph.Layers;

public sealed record ReshapeConfig : LayerConfig
{
    /// <summary>Per-sample target shape; one entry may be −1 (inferred).</summary>
    public int[] TargetShape { get; init; } = [];
}

/// <summary>[batch, …] → [batch, target_shape…] (row-major, as NumPy).</summary>
public sealed class Reshape : UnaryLayer
{
    public Reshape(ReshapeConfig config) : base(config)
    {
        if (config.TargetShape is null) throw new ArgumentException("Reshape needs target_shape");
        if (config.TargetShape.Count(d => d == -1) > 1 || config.TargetShape.Any(d => d is 0 or < -1))
            throw new ArgumentException($"Reshape target_shape ({string.Join(", ", config.TargetShape)}) must hold positive dims and at most one -1");
        Config = config;
    }

    public Reshape(int[] targetShape, string? name = null) : this(new ReshapeConfig { TargetShape = targetShape, Name = name }) { }

    public override ReshapeConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var perSample = x.Shape.Skip(1);
        if (perSample.IsFullyKnown)
        {
            var size = perSample.ElementCount!.Value;
            var known = Config.TargetShape.Where(d => d > 0).Aggregate(1L, (p, d) => p * d);
            var ok = Config.TargetShape.Contains(-1) ? size % known == 0 : size == known;
            if (!ok) throw new ShapeException($"cannot reshape {x.Shape} (per-sample size {size}) into target_shape ({string.Join(", ", Config.TargetShape)})");
        }
        // 0 copies the batch dim; −1 stays for the inferred axis.
        return g.Node1("Reshape", [x, g.Ints("shape", [0L, .. Config.TargetShape.Select(d => (long)d)])]);
    }

    protected override bool PropagatesMask(Value x, Value y) => false;
}
