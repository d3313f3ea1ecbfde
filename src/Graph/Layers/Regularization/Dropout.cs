using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

public sealed record DropoutConfig : LayerConfig
{
    public double Rate { get; init; }
    /// <summary>Shape of the keep/drop mask, broadcast over the input (null entries = the input's dim).</summary>
    public int?[]? NoiseShape { get; init; }
    public int? Seed { get; init; }
}

/// <summary>Inference: y = x. Training (inverted dropout, as Keras): y = x·m/(1 − rate), m ~ Bernoulli(1 − rate),
/// through ONNX Dropout (training_mode = true) or, with a noise_shape, a uniform draw of that shape broadcast over x.</summary>
public sealed class Dropout : UnaryLayer
{
    public Dropout(DropoutConfig config) : base(config)
    {
        Noise.CheckRate(ClassName, config.Rate);
        Config = config;
    }

    public Dropout(double rate, int?[]? noiseShape = null, int? seed = null, string? name = null)
        : this(new DropoutConfig { Rate = rate, NoiseShape = noiseShape, Seed = seed, Name = name }) { }

    public override DropoutConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx) =>
        ctx.Training ? Noise.Dropout(g, x, Config.Rate, Config.NoiseShape, NextSeed(ctx)) : g.Node1("Identity", [x]);
}

public sealed record SpatialDropoutConfig : LayerConfig
{
    public double Rate { get; init; }
    public string? DataFormat { get; init; }
    /// <summary>Keras 2 writes Dropout's keys for the spatial variants; the mask shape is fixed by the layer.</summary>
    public int?[]? NoiseShape { get; init; }
    public int? Seed { get; init; }
}

/// <summary>Dropout of whole feature maps: the training mask is 1 on every spatial axis, one draw per (sample, channel);
/// channels_last unless data_format says otherwise. Inference: y = x.</summary>
public abstract class SpatialDropoutBase : UnaryLayer
{
    private readonly int _spatial;

    protected SpatialDropoutBase(SpatialDropoutConfig config, int spatial) : base(config)
    {
        Noise.CheckRate(ClassName, config.Rate);
        if (config.DataFormat is not (null or "channels_last" or "channels_first"))
            throw new ArgumentException($"{ClassName} data_format must be channels_last or channels_first, got '{config.DataFormat}'");
        Config = config;
        _spatial = spatial;
    }

    public override SpatialDropoutConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        if (x.Rank != _spatial + 2) throw new ShapeException($"{ClassName} needs a {_spatial + 2}-D input, got {x.Shape}");
        if (!ctx.Training) return g.Node1("Identity", [x]);
        var ones = Enumerable.Repeat((int?)1, _spatial);
        int?[] noise = Config.DataFormat == "channels_first" ? [null, null, .. ones] : [null, .. ones, null];
        return Noise.Dropout(g, x, Config.Rate, noise, NextSeed(ctx));
    }
}

/// <summary>Input [batch, steps, channels], mask [batch, 1, channels].</summary>
public sealed class SpatialDropout1D(SpatialDropoutConfig config) : SpatialDropoutBase(config, 1)
{
    public SpatialDropout1D(double rate, string? name = null) : this(new SpatialDropoutConfig { Rate = rate, Name = name }) { }
}

/// <summary>Input [batch, h, w, channels], mask [batch, 1, 1, channels].</summary>
public sealed class SpatialDropout2D(SpatialDropoutConfig config) : SpatialDropoutBase(config, 2)
{
    public SpatialDropout2D(double rate, string? name = null) : this(new SpatialDropoutConfig { Rate = rate, Name = name }) { }
}

/// <summary>Input [batch, d, h, w, channels], mask [batch, 1, 1, 1, channels].</summary>
public sealed class SpatialDropout3D(SpatialDropoutConfig config) : SpatialDropoutBase(config, 3)
{
    public SpatialDropout3D(double rate, string? name = null) : this(new SpatialDropoutConfig { Rate = rate, Name = name }) { }
}

/// <summary>Helpers for random draws that broadcast over an input.</summary>
internal static class Noise
{
    public static void CheckRate(string layer, double rate)
    {
        if (!(rate >= 0 && rate <= 1)) throw new ArgumentException($"{layer} rate must be in [0, 1], got {rate}");
    }

    /// <summary>Inverted dropout in training mode: y = x·m/(1 − rate).</summary>
    public static Value Dropout(GraphBuilder g, Value x, double rate, int?[]? noiseShape, float seed)
    {
        if (rate == 0) return g.Node1("Identity", [x]);
        if (rate >= 1) return g.Node1("Mul", [x, g.Scalar(0, x.DType)]);
        if (noiseShape is null)
        {
            var ratio = g.Scalar(rate, x.DType, "ratio");
            var training = g.Constant(Tensors.Create("training_mode", [true]), "training_mode");
            return g.Node1("Dropout", [x, ratio, training], [Attr.Int("seed", (long)seed)]);
        }
        var like = ShapedLike(g, x, noiseShape);
        var u = g.Node1("RandomUniformLike", [like], [Attr.Float("seed", seed)]);
        var keep = g.Node1("Cast", [g.Node1("GreaterOrEqual", [u, g.Scalar(rate, x.DType)])], [Attr.Int("to", (long)x.DType)]);
        var scaled = g.Node1("Mul", [keep, g.Scalar(1 / (1 - rate), x.DType)]);
        return g.Node1("Mul", [x, scaled]);
    }

    /// <summary>A value whose shape is <paramref name="noiseShape"/> resolved against x (null → x's dim): x reduced
    /// (mean, keepdims) over the axes where the noise shape is 1, so a *Like random op draws one value per mask cell.</summary>
    public static Value ShapedLike(GraphBuilder g, Value x, int?[] noiseShape)
    {
        if (noiseShape.Length != x.Rank)
            throw new ShapeException($"noise_shape ({string.Join(", ", noiseShape.Select(d => d?.ToString() ?? "None"))}) does not fit input {x.Shape}");
        var axes = new List<long>();
        for (var i = 0; i < x.Rank; i++)
        {
            if (noiseShape[i] is not { } n) continue;
            if (n == 1 && x.Shape[i].Value != 1) axes.Add(i);
            else if (x.Shape[i].IsKnown && n != x.Shape[i].Known)
                throw new ShapeException($"noise_shape dim {n} at axis {i} is neither 1 nor the input's {x.Shape[i]}");
        }
        return axes.Count == 0 ? x : g.Node1("ReduceMean", [x], [Attr.Ints("axes", axes), Attr.Int("keepdims", 1)]);
    }
}
