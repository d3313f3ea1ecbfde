using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

public sealed record ConcatenateConfig : LayerConfig
{
    public int Axis { get; init; } = -1;
}

/// <summary>y = [x0, x1, …] joined along axis (the other dims must agree); [batch, time] masks are ANDed unless axis is 1.</summary>
public sealed class Concatenate : Merge
{
    public Concatenate(ConcatenateConfig config) : base(config) => Config = config;
    public Concatenate(int axis = -1, string? name = null) : this(new ConcatenateConfig { Axis = axis, Name = name }) { }

    public override ConcatenateConfig Config { get; }

    protected override Value Combine(GraphBuilder g, IReadOnlyList<Value> inputs)
    {
        var rank = inputs[0].Rank;
        if (Config.Axis >= rank || Config.Axis < -rank) throw new ShapeException($"Concatenate axis {Config.Axis} is out of range for inputs of rank {rank}");
        return g.Node1("Concat", inputs, [Attr.Int("axis", Config.Axis)]);
    }

    /// <summary>Joining along the time axis would need the masks joined too; only feature-axis joins keep them.</summary>
    protected override bool MergesMasks(IReadOnlyList<Value> inputs, Value y) =>
        (Config.Axis < 0 ? Config.Axis + y.Rank : Config.Axis) != 1 && base.MergesMasks(inputs, y);
}
