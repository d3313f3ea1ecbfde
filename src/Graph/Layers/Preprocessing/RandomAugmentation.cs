using System.Text.Json.Serialization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Base of the random image augmentations: identity at inference (y = x), the augmentation in training.</summary>
public abstract class RandomAugmentation : UnaryLayer
{
    protected RandomAugmentation(LayerConfig config) : base(config) { }

    protected abstract string? DataFormat { get; }

    protected sealed override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        Preprocess.ImageAxes(x, DataFormat, ClassName);
        return ctx.Training ? Augment(g, x, ctx) : g.Node1("Identity", [x]);
    }

    protected virtual Value Augment(GraphBuilder g, Value x, CallContext ctx) => g.Node1("Identity", [x]);

    /// <summary>One uniform draw per image in [low, high): shape [b, 1, 1, 1] for a batch, [1, 1, 1] for one image.</summary>
    protected Value PerImageUniform(GraphBuilder g, Value x, CallContext ctx, double low, double high)
    {
        var axes = Enumerable.Range(x.Rank - 3, 3).Select(i => (long)i).ToArray();
        var like = g.Node1("ReduceMean", [x], [Attr.Ints("axes", axes), Attr.Int("keepdims", 1)]);
        return g.Node1("RandomUniformLike", [like], [Attr.Float("low", (float)low), Attr.Float("high", (float)high), Attr.Float("seed", NextSeed(ctx))]);
    }

    protected static void CheckFactor(string layer, string key, double[]? factor, bool required = true)
    {
        if (factor is null) { if (required) throw new ArgumentException($"{layer} needs {key}"); return; }
        if (factor.Length is not (1 or 2) || factor.Any(f => !double.IsFinite(f)))
            throw new ArgumentException($"{layer} {key} must be a number or a pair of numbers, got [{string.Join(", ", factor)}]");
    }
}

public sealed record RandomFlipConfig : LayerConfig
{
    public string Mode { get; init; } = "horizontal_and_vertical";
    public int? Seed { get; init; }
    public string? DataFormat { get; init; }
    [JsonConverter(typeof(DoublesConverter))]
    public double[]? ValueRange { get; init; }
}

/// <summary>Training: each image is flipped left-right (horizontal) and/or top-bottom (vertical) with probability ½,
/// independently per image and per direction. Inference: y = x.</summary>
public sealed class RandomFlip : RandomAugmentation
{
    public RandomFlip(RandomFlipConfig config) : base(config)
    {
        if (config.Mode is not ("horizontal" or "vertical" or "horizontal_and_vertical"))
            throw new ArgumentException($"RandomFlip mode must be horizontal, vertical or horizontal_and_vertical, got '{config.Mode}'");
        Preprocess.CheckDataFormat(ClassName, config.DataFormat);
        Config = config;
    }

    public RandomFlip(string mode = "horizontal_and_vertical", int? seed = null, string? name = null)
        : this(new RandomFlipConfig { Mode = mode, Seed = seed, Name = name }) { }

    public override RandomFlipConfig Config { get; }
    protected override string? DataFormat => Config.DataFormat;

    protected override Value Augment(GraphBuilder g, Value x, CallContext ctx)
    {
        var (h, w) = Preprocess.ImageAxes(x, DataFormat, ClassName);
        if (Config.Mode != "vertical") x = MaybeFlip(g, x, w, ctx);
        if (Config.Mode != "horizontal") x = MaybeFlip(g, x, h, ctx);
        return x;
    }

    private Value MaybeFlip(GraphBuilder g, Value x, int axis, CallContext ctx)
    {
        var flipped = g.Node1("Slice", [x, g.Ints("starts", -1), g.Ints("ends", long.MinValue), g.Ints("axes", axis), g.Ints("steps", -1)]);
        var flip = g.Node1("Less", [PerImageUniform(g, x, ctx, 0, 1), g.Scalar(0.5, x.DType)]);
        return g.Node1("Where", [flip, flipped, x]);
    }
}

public sealed record RandomContrastConfig : LayerConfig
{
    [JsonConverter(typeof(DoublesConverter))]
    public double[] Factor { get; init; } = [];
    public int? Seed { get; init; }
    [JsonConverter(typeof(DoublesConverter))]
    public double[]? ValueRange { get; init; } = [0, 255];
    public string? DataFormat { get; init; }
}

/// <summary>Training: y = clip((x − m)·c + m, value_range) with m the per-image, per-channel mean over height and
/// width and c ~ U(1 − lower, 1 + upper) per image (factor f → lower = upper = f). Inference: y = x.</summary>
public sealed class RandomContrast : RandomAugmentation
{
    public RandomContrast(RandomContrastConfig config) : base(config)
    {
        CheckFactor(ClassName, "factor", config.Factor);
        (Lower, Upper) = config.Factor.Length == 1 ? (config.Factor[0], config.Factor[0]) : (config.Factor[0], config.Factor[1]);
        if (Lower < 0 || Upper < 0 || Lower > 1)
            throw new ArgumentException($"RandomContrast factor must give 0 <= lower <= 1 and upper >= 0, got [{string.Join(", ", config.Factor)}]");
        if (config.ValueRange is { } r && (r.Length != 2 || r[0] >= r[1]))
            throw new ArgumentException($"RandomContrast value_range must be [low, high] with low < high, got [{string.Join(", ", r)}]");
        Preprocess.CheckDataFormat(ClassName, config.DataFormat);
        Config = config;
    }

    public RandomContrast(double factor, int? seed = null, string? name = null)
        : this(new RandomContrastConfig { Factor = [factor], Seed = seed, Name = name }) { }

    public override RandomContrastConfig Config { get; }
    public double Lower { get; }
    public double Upper { get; }
    protected override string? DataFormat => Config.DataFormat;

    protected override Value Augment(GraphBuilder g, Value x, CallContext ctx)
    {
        var (h, w) = Preprocess.ImageAxes(x, DataFormat, ClassName);
        var c = PerImageUniform(g, x, ctx, 1 - Lower, 1 + Upper);
        var mean = g.Node1("ReduceMean", [x], [Attr.Ints("axes", [(long)h, w]), Attr.Int("keepdims", 1)]);
        var y = g.Node1("Add", [g.Node1("Mul", [g.Node1("Sub", [x, mean]), c]), mean]);
        return Config.ValueRange is { } r ? g.Node1("Clip", [y, g.Scalar(r[0], x.DType), g.Scalar(r[1], x.DType)]) : y;
    }
}

/// <summary>The resampling arguments Keras's rotation, zoom and translation layers share.</summary>
public abstract record GeometricAugmentationConfig : LayerConfig
{
    public string FillMode { get; init; } = "reflect";
    public string Interpolation { get; init; } = "bilinear";
    public int? Seed { get; init; }
    public double FillValue { get; init; }
    [JsonConverter(typeof(DoublesConverter))]
    public double[]? ValueRange { get; init; }
    public string? DataFormat { get; init; }
}

public sealed record RandomRotationConfig : GeometricAugmentationConfig
{
    [JsonConverter(typeof(DoublesConverter))]
    public double[] Factor { get; init; } = [];
}

/// <summary>Keras rotates by a random angle in factor·2π during training. Here y = x in both modes: the graph
/// carries no rotation (an accepted simplification; train with the augmentation applied to the data instead).</summary>
public sealed class RandomRotation : RandomAugmentation
{
    public RandomRotation(RandomRotationConfig config) : base(config)
    {
        CheckFactor(ClassName, "factor", config.Factor);
        Preprocess.CheckDataFormat(ClassName, config.DataFormat);
        Config = config;
    }

    public RandomRotation(double factor, string? name = null) : this(new RandomRotationConfig { Factor = [factor], Name = name }) { }

    public override RandomRotationConfig Config { get; }
    protected override string? DataFormat => Config.DataFormat;
}

public sealed record RandomZoomConfig : GeometricAugmentationConfig
{
    [JsonConverter(typeof(DoublesConverter))]
    public double[] HeightFactor { get; init; } = [];
    [JsonConverter(typeof(DoublesConverter))]
    public double[]? WidthFactor { get; init; }
}

/// <summary>Keras zooms by random height/width factors during training. Here y = x in both modes (no zoom in the
/// graph; an accepted simplification).</summary>
public sealed class RandomZoom : RandomAugmentation
{
    public RandomZoom(RandomZoomConfig config) : base(config)
    {
        CheckFactor(ClassName, "height_factor", config.HeightFactor);
        CheckFactor(ClassName, "width_factor", config.WidthFactor, required: false);
        Preprocess.CheckDataFormat(ClassName, config.DataFormat);
        Config = config;
    }

    public RandomZoom(double heightFactor, double? widthFactor = null, string? name = null)
        : this(new RandomZoomConfig { HeightFactor = [heightFactor], WidthFactor = widthFactor is { } w ? [w] : null, Name = name }) { }

    public override RandomZoomConfig Config { get; }
    protected override string? DataFormat => Config.DataFormat;
}

public sealed record RandomTranslationConfig : GeometricAugmentationConfig
{
    [JsonConverter(typeof(DoublesConverter))]
    public double[] HeightFactor { get; init; } = [];
    [JsonConverter(typeof(DoublesConverter))]
    public double[] WidthFactor { get; init; } = [];
}

/// <summary>Keras shifts images by random fractions of their size during training. Here y = x in both modes (no
/// translation in the graph; an accepted simplification).</summary>
public sealed class RandomTranslation : RandomAugmentation
{
    public RandomTranslation(RandomTranslationConfig config) : base(config)
    {
        CheckFactor(ClassName, "height_factor", config.HeightFactor);
        CheckFactor(ClassName, "width_factor", config.WidthFactor);
        Preprocess.CheckDataFormat(ClassName, config.DataFormat);
        Config = config;
    }

    public RandomTranslation(double heightFactor, double widthFactor, string? name = null)
        : this(new RandomTranslationConfig { HeightFactor = [heightFactor], WidthFactor = [widthFactor], Name = name }) { }

    public override RandomTranslationConfig Config { get; }
    protected override string? DataFormat => Config.DataFormat;
}

public sealed record RandomCropConfig : LayerConfig
{
    public int Height { get; init; }
    public int Width { get; init; }
    public int? Seed { get; init; }
    public string? DataFormat { get; init; }
    [JsonConverter(typeof(DoublesConverter))]
    public double[]? ValueRange { get; init; }
}

/// <summary>Inference: the center height×width crop (as Keras). Training: Keras crops at a random offset; here the
/// center crop too (a static slice keeps the output shape known; an accepted simplification).</summary>
public sealed class RandomCrop : UnaryLayer
{
    public RandomCrop(RandomCropConfig config) : base(config)
    {
        if (config.Height <= 0 || config.Width <= 0) throw new ArgumentException($"RandomCrop height and width must be positive, got {config.Height}x{config.Width}");
        Preprocess.CheckDataFormat(ClassName, config.DataFormat);
        Config = config;
    }

    public RandomCrop(int height, int width, int? seed = null, string? name = null)
        : this(new RandomCropConfig { Height = height, Width = width, Seed = seed, Name = name }) { }

    public override RandomCropConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx) => CenterCrop.Crop(g, x, Config.Height, Config.Width, Config.DataFormat, ClassName);

    protected override bool PropagatesMask(Value x, Value y) => false;
}
