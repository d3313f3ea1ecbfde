using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

public sealed record GaussianNoiseConfig : LayerConfig
{
    public double Stddev { get; init; }
    public int? Seed { get; init; }
}

/// <summary>Inference: y = x. Training: y = x + n, n ~ N(0, stddev²) per element.</summary>
public sealed class GaussianNoise : UnaryLayer
{
    public GaussianNoise(GaussianNoiseConfig config) : base(config)
    {
        if (!(config.Stddev >= 0) || double.IsInfinity(config.Stddev)) throw new ArgumentException($"GaussianNoise stddev must be >= 0, got {config.Stddev}");
        Config = config;
    }

    public GaussianNoise(double stddev, int? seed = null, string? name = null) : this(new GaussianNoiseConfig { Stddev = stddev, Seed = seed, Name = name }) { }

    public override GaussianNoiseConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        if (!ctx.Training || Config.Stddev == 0) return g.Node1("Identity", [x]);
        var n = g.Node1("RandomNormalLike", [x], [Attr.Float("mean", 0), Attr.Float("scale", (float)Config.Stddev), Attr.Float("seed", NextSeed(ctx))]);
        return g.Node1("Add", [x, n]);
    }
}

public sealed record GaussianDropoutConfig : LayerConfig
{
    public double Rate { get; init; }
    public int? Seed { get; init; }
}

/// <summary>Inference: y = x. Training: y = x·n, n ~ N(1, rate/(1 − rate)) per element.</summary>
public sealed class GaussianDropout : UnaryLayer
{
    public GaussianDropout(GaussianDropoutConfig config) : base(config)
    {
        if (!(config.Rate >= 0 && config.Rate < 1)) throw new ArgumentException($"GaussianDropout rate must be in [0, 1), got {config.Rate}");
        Config = config;
    }

    public GaussianDropout(double rate, int? seed = null, string? name = null) : this(new GaussianDropoutConfig { Rate = rate, Seed = seed, Name = name }) { }

    public override GaussianDropoutConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        if (!ctx.Training || Config.Rate == 0) return g.Node1("Identity", [x]);
        var std = Math.Sqrt(Config.Rate / (1 - Config.Rate));
        var n = g.Node1("RandomNormalLike", [x], [Attr.Float("mean", 1), Attr.Float("scale", (float)std), Attr.Float("seed", NextSeed(ctx))]);
        return g.Node1("Mul", [x, n]);
    }
}

public sealed record ActivityRegularizationConfig : LayerConfig
{
    public double L1 { get; init; }
    public double L2 { get; init; }
}

/// <summary>y = x. The penalty l1·Σ|x| + l2·Σx² belongs to the training loss, not to the exported graph.</summary>
public sealed class ActivityRegularization : UnaryLayer
{
    public ActivityRegularization(ActivityRegularizationConfig config) : base(config)
    {
        if (!(config.L1 >= 0) || !(config.L2 >= 0)) throw new ArgumentException($"ActivityRegularization l1 and l2 must be >= 0, got l1={config.L1}, l2={config.L2}");
        Config = config;
    }

    public ActivityRegularization(double l1 = 0, double l2 = 0, string? name = null) : this(new ActivityRegularizationConfig { L1 = l1, L2 = l2, Name = name }) { }

    public override ActivityRegularizationConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx) => g.Node1("Identity", [x]);
}
