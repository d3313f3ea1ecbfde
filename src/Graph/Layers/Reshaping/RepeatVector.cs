using NeuralService.Graph.Core;

namespace NeuralService.Graph.Layers;

public sealed record RepeatVectorConfig : LayerConfig
{
    public int N { get; init; }
}

/// <summary>[batch, f] → [batch, n, f]: y[b, i, :] = x[b, :].</summary>
public sealed class RepeatVector : UnaryLayer
{
    public RepeatVector(RepeatVectorConfig config) : base(config)
    {
        if (config.N <= 0) throw new ArgumentException($"RepeatVector n must be positive, got {config.N}");
        Config = config;
    }

    public RepeatVector(int n, string? name = null) : this(new RepeatVectorConfig { N = n, Name = name }) { }

    public override RepeatVectorConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        if (x.Rank != 2) throw new ShapeException($"RepeatVector needs a 2-D input [batch, features], got {x.Shape}");
        var e = g.Node1("Unsqueeze", [x, g.Ints("axes", 1)]);
        return g.Node1("Tile", [e, g.Ints("repeats", 1, Config.N, 1)]);
    }

    protected override bool PropagatesMask(Value x, Value y) => false;
}
