using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

public sealed record ReLUConfig : LayerConfig
{
    public double? MaxValue { get; init; }
    public double NegativeSlope { get; init; }
    public double Threshold { get; init; }
}

/// <summary>Keras's ReLU: y = min(x, max_value) for x > threshold (and x ≥ 0 when capped),
/// y = negative_slope·(x − threshold) for x ≤ threshold. Emitted in Keras 3's order of operations
/// (x·[x &gt; t] or relu(x), clipped to [0, max_value], minus slope·relu(t − x)).</summary>
public sealed class ReLU : UnaryLayer
{
    public ReLU(ReLUConfig config) : base(config)
    {
        if (config.MaxValue is < 0) throw new ArgumentException($"ReLU max_value must be >= 0, got {config.MaxValue}");
        if (config.NegativeSlope < 0) throw new ArgumentException($"ReLU negative_slope must be >= 0, got {config.NegativeSlope}");
        if (!double.IsFinite(config.Threshold)) throw new ArgumentException($"ReLU threshold must be finite, got {config.Threshold}");
        Config = config;
    }

    public ReLU(double? maxValue = null, double negativeSlope = 0, double threshold = 0, string? name = null)
        : this(new ReLUConfig { MaxValue = maxValue, NegativeSlope = negativeSlope, Threshold = threshold, Name = name }) { }

    public override ReLUConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var (max, slope, t) = (Config.MaxValue, Config.NegativeSlope, Config.Threshold);
        var dt = x.DType;
        if (slope != 0 && max is null && t == 0) return g.Node1("LeakyRelu", [x], [Attr.Float("alpha", (float)slope)]);
        Value? negative = null;
        if (slope != 0)
            negative = g.Node1("Relu", [t != 0 ? g.Node1("Sub", [g.Scalar(t, dt), x]) : g.Node1("Neg", [x])]);
        var y = t != 0
            ? g.Node1("Mul", [x, g.Node1("CastLike", [g.Node1("Greater", [x, g.Scalar(t, dt)]), x])])
            : g.Node1("Relu", [x]);
        if (max is { } m) y = g.Node1("Clip", [y, g.Scalar(0, dt), g.Scalar(m, dt)]);
        if (negative is not null) y = g.Node1("Sub", [y, g.Node1("Mul", [negative, g.Scalar(slope, dt)])]);
        return y;
    }
}

public sealed record LeakyReLUConfig : LayerConfig
{
    /// <summary>Keras 3's name for the slope.</summary>
    public double NegativeSlope { get; init; } = 0.3;
    /// <summary>Keras 2's name for the slope; wins when present, as in Keras 3.</summary>
    public double? Alpha { get; init; }
}

/// <summary>y = x for x ≥ 0, negative_slope·x otherwise (default slope 0.3).</summary>
public sealed class LeakyReLU : UnaryLayer
{
    public LeakyReLU(LeakyReLUConfig config) : base(config)
    {
        Slope = config.Alpha ?? config.NegativeSlope;
        if (Slope < 0 || !double.IsFinite(Slope)) throw new ArgumentException($"LeakyReLU negative_slope must be a finite value >= 0, got {Slope}");
        Config = config;
    }

    public LeakyReLU(double negativeSlope = 0.3, string? name = null) : this(new LeakyReLUConfig { NegativeSlope = negativeSlope, Name = name }) { }

    public override LeakyReLUConfig Config { get; }
    public double Slope { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx) =>
        g.Node1("LeakyRelu", [x], [Attr.Float("alpha", (float)Slope)]);
}

public sealed record ELUConfig : LayerConfig
{
    public double Alpha { get; init; } = 1.0;
}

/// <summary>y = x for x &gt; 0, alpha·(eˣ − 1) otherwise.</summary>
public sealed class ELU : UnaryLayer
{
    public ELU(ELUConfig config) : base(config)
    {
        if (!double.IsFinite(config.Alpha)) throw new ArgumentException($"ELU alpha must be finite, got {config.Alpha}");
        Config = config;
    }

    public ELU(double alpha = 1.0, string? name = null) : this(new ELUConfig { Alpha = alpha, Name = name }) { }

    public override ELUConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx) =>
        g.Node1("Elu", [x], [Attr.Float("alpha", (float)Config.Alpha)]);
}
