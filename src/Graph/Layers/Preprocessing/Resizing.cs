using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

public sealed record ResizingConfig : LayerConfig
{
    public int Height { get; init; }
    public int Width { get; init; }
    public string Interpolation { get; init; } = "bilinear";
    public bool CropToAspectRatio { get; init; }
    public bool PadToAspectRatio { get; init; }
    public string FillMode { get; init; } = "constant";
    public double FillValue { get; init; }
    public bool Antialias { get; init; }
    public string? DataFormat { get; init; }
}

/// <summary>Resizes images to height×width with half-pixel centers (as tf.image.resize): bilinear
/// y = Σ weights·x at source coordinate (i + ½)·H/height − ½ (clamped), nearest x[⌊(i + ½)·H/height⌋].
/// crop_to_aspect_ratio first center-crops to the target's aspect ratio. Not supported (rejected): other
/// interpolations, pad_to_aspect_ratio, antialias.</summary>
public sealed class Resizing : UnaryLayer
{
    public Resizing(ResizingConfig config) : base(config)
    {
        if (config.Height <= 0 || config.Width <= 0) throw new ArgumentException($"Resizing height and width must be positive, got {config.Height}x{config.Width}");
        if (config.Interpolation is not ("bilinear" or "nearest"))
            throw new ArgumentException($"Resizing interpolation '{config.Interpolation}' is not supported; use 'bilinear' or 'nearest'");
        if (config.PadToAspectRatio) throw new ArgumentException("Resizing pad_to_aspect_ratio=true is not supported");
        if (config.Antialias) throw new ArgumentException("Resizing antialias=true is not supported");
        if (config.CropToAspectRatio && config.PadToAspectRatio) throw new ArgumentException("Resizing cannot both crop and pad to the aspect ratio");
        Preprocess.CheckDataFormat("Resizing", config.DataFormat);
        Config = config;
    }

    public Resizing(int height, int width, string interpolation = "bilinear", bool cropToAspectRatio = false, string? name = null)
        : this(new ResizingConfig { Height = height, Width = width, Interpolation = interpolation, CropToAspectRatio = cropToAspectRatio, Name = name }) { }

    public override ResizingConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        x = Preprocess.ToFloat(g, x);
        var (h, w) = Preprocess.ImageAxes(x, Config.DataFormat, ClassName);
        if (!x.Shape[h].IsKnown || !x.Shape[w].IsKnown) throw new ShapeException($"Resizing needs known image sizes, got {x.Shape}");
        if (Config.CropToAspectRatio)
        {
            var (ih, iw) = (x.Shape[h].Known, x.Shape[w].Known);
            var cropH = Math.Min(ih, (long)((double)iw * Config.Height / Config.Width));
            var cropW = Math.Min(iw, (long)((double)ih * Config.Width / Config.Height));
            x = CenterCrop.Crop(g, x, (int)cropH, (int)cropW, Config.DataFormat, ClassName);
        }
        var scales = Enumerable.Repeat(1f, x.Rank).ToArray();
        scales[h] = Scale(x.Shape[h].Known, Config.Height);
        scales[w] = Scale(x.Shape[w].Known, Config.Width);
        var linear = Config.Interpolation == "bilinear";
        return g.Node1("Resize", [x, null, g.Constant(scales, [scales.Length], "scales")],
        [
            Attr.String("mode", linear ? "linear" : "nearest"),
            Attr.String("coordinate_transformation_mode", "half_pixel"),
            Attr.String("nearest_mode", "round_prefer_ceil"),
        ]);
    }

    /// <summary>A float scale whose product with the input size truncates to exactly <paramref name="output"/>
    /// (ONNX derives output sizes as ⌊input·scale⌋ in float).</summary>
    private static float Scale(long input, long output)
    {
        var s = (float)output / input;
        while ((long)MathF.Floor(input * s) < output) s = MathF.BitIncrement(s);
        while ((long)MathF.Floor(input * s) > output) s = MathF.BitDecrement(s);
        return s;
    }

    protected override bool PropagatesMask(Value x, Value y) => false;
}
