using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

public sealed record FlattenConfig : LayerConfig
{
    public string? DataFormat { get; init; }
}

/// <summary>[batch, d1…dn] → [batch, d1·…·dn]; channels_first inputs are moved to channels_last first, as Keras does.</summary>
public sealed class Flatten : UnaryLayer
{
    public Flatten(FlattenConfig config) : base(config)
    {
        if (config.DataFormat is not (null or "channels_last" or "channels_first"))
            throw new ArgumentException($"Flatten data_format must be channels_last or channels_first, got '{config.DataFormat}'");
        Config = config;
    }

    public Flatten(string? name = null) : this(new FlattenConfig { Name = name }) { }

    public override FlattenConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        if (x.Rank < 1) throw new ShapeException($"Flatten needs a batch axis, got {x.Shape}");
        if (Config.DataFormat == "channels_first" && x.Rank > 2)
            x = g.Node1("Transpose", [x], [Attr.Ints("perm", [0L, .. Enumerable.Range(2, x.Rank - 2).Select(i => (long)i), 1L])]);
        return g.Node1("Flatten", [x], [Attr.Int("axis", 1)]);
    }

    protected override bool PropagatesMask(Value x, Value y) => false;
}
