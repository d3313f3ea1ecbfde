using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

public sealed record SoftmaxConfig : LayerConfig
{
    /// <summary>One axis or several (Keras 3 accepts a tuple).</summary>
    public int[] Axis { get; init; } = [-1];
}

/// <summary>y = exp(x) / Σ_axis exp(x); over several axes as exp(x − logsumexp_axes(x)).</summary>
public sealed class Softmax : UnaryLayer
{
    public Softmax(SoftmaxConfig config) : base(config)
    {
        if (config.Axis is null || config.Axis.Length == 0) throw new ArgumentException("Softmax axis must name at least one axis, got none");
        Config = config;
    }

    public Softmax(int axis = -1, string? name = null) : this(new SoftmaxConfig { Axis = [axis], Name = name }) { }

    public override SoftmaxConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        foreach (var a in Config.Axis)
            if (a >= x.Rank || a < -x.Rank) throw new ShapeException($"Softmax axis {a} is out of range for input {x.Shape}");
        if (Config.Axis.Length == 1) return g.Node1("Softmax", [x], [Attr.Int("axis", Config.Axis[0])]);
        var lse = g.Node1("ReduceLogSumExp", [x], [Attr.Ints("axes", Config.Axis), Attr.Int("keepdims", 1)]);
        return g.Node1("Exp", [g.Node1("Sub", [x, lse])]);
    }
}
