using System.Text.Json.Nodes;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

public sealed record TimeDistributedConfig : LayerConfig
{
    /// <summary>The serialized inner layer.</summary>
    public JsonObject? Layer { get; init; }
}

/// <summary>Keras TimeDistributed: y[b, t] = layer(x[b, t]) — x [B, T, …] is reshaped to [B·T, …], the layer applied
/// once, and the result reshaped back to [B, T, …].</summary>
public sealed class TimeDistributed : Layer
{
    public TimeDistributed(TimeDistributedConfig config) : base(config)
    {
        var layer = config.Layer ?? throw new ArgumentException("TimeDistributed needs a 'layer'");
        Inner = WrappedLayers.Create(layer, $"TimeDistributed '{Name}'");
        Inner.Trainable = Trainable;
        Config = config;
    }

    public TimeDistributed(Layer layer, string? name = null)
        : this(new TimeDistributedConfig { Name = name, Layer = WrappedLayers.Serialize(layer) }) { }

    public override TimeDistributedConfig Config { get; }
    public Layer Inner { get; }
    public override IReadOnlyList<Weight> Weights => Inner.Weights;

    protected override void Build(IReadOnlyList<TensorType> inputs)
    {
        if (inputs.Count != 1) throw new ArgumentException($"TimeDistributed takes one input, got {inputs.Count}");
        var x = inputs[0];
        if (x.Shape.Rank < 3) throw new ArgumentException($"TimeDistributed needs an input of rank >= 3 [batch, time, ...], got {x.Shape}");
        if (!x.Shape.Skip(2).IsFullyKnown) throw new ArgumentException($"TimeDistributed needs known per-step dims, got {x.Shape}");
        Inner.EnsureBuilt([new TensorType(x.DType, x.Shape.Skip(2).Prepend(x.Shape[0] * x.Shape[1]))]);
    }

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        if (inputs.Count != 1) throw new ShapeException($"TimeDistributed takes one input, got {inputs.Count}");
        var x = inputs[0];
        var step = x.Shape.Skip(2).ToArray();
        var flat = g.Node1("Reshape", [x, g.Ints("shape", [-1, .. step])], name: "Flatten");
        var outs = Inner.Emit(g, [flat], ctx);
        if (outs.Count != 1) throw new ShapeException($"TimeDistributed: the inner layer '{Inner.Name}' gives {outs.Count} outputs; one is needed");
        var y = outs[0];
        if (!y.Shape.Skip(1).IsFullyKnown) throw new ShapeException($"TimeDistributed: inner output {y.Shape} has unknown per-step dims");
        Value result;
        if (x.Shape[1].IsKnown)
            result = g.Node1("Reshape", [y, g.Ints("shape", [-1, x.Shape[1].Known, .. y.Shape.Skip(1).ToArray()])], name: "Unflatten");
        else
        {
            // Unknown time length: the target shape comes from x's own [B, T].
            var bt = g.Node1("Shape", [x], [Attr.Int("start", 0), Attr.Int("end", 2)]);
            var target = g.Node1("Concat", [bt, g.Ints("shape", y.Shape.Skip(1).ToArray())], [Attr.Int("axis", 0)]);
            result = g.Node1("Reshape", [y, target], name: "Unflatten");
        }
        if (ctx.MaskOf(x) is { } mask) ctx.SetMask(result, mask);
        return [result];
    }
}
