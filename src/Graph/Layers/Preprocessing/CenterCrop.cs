using NeuralService.Graph.Core;

namespace NeuralService.Graph.Layers;

public sealed record CenterCropConfig : LayerConfig
{
    public int Height { get; init; }
    public int Width { get; init; }
    public string? DataFormat { get; init; }
}

/// <summary>y = x[…, t : t + height, l : l + width, …] with t = ⌊(H − height)/2⌋, l = ⌊(W − width)/2⌋.
/// Images smaller than the target (which Keras resizes first) are rejected.</summary>
public sealed class CenterCrop : UnaryLayer
{
    public CenterCrop(CenterCropConfig config) : base(config)
    {
        if (config.Height <= 0 || config.Width <= 0) throw new ArgumentException($"CenterCrop height and width must be positive, got {config.Height}x{config.Width}");
        Preprocess.CheckDataFormat("CenterCrop", config.DataFormat);
        Config = config;
    }

    public CenterCrop(int height, int width, string? name = null) : this(new CenterCropConfig { Height = height, Width = width, Name = name }) { }

    public override CenterCropConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx) => Crop(g, x, Config.Height, Config.Width, Config.DataFormat, ClassName);

    internal static Value Crop(GraphBuilder g, Value x, int height, int width, string? dataFormat, string layer)
    {
        var (h, w) = Preprocess.ImageAxes(x, dataFormat, layer);
        if (!x.Shape[h].IsKnown || !x.Shape[w].IsKnown) throw new ShapeException($"{layer} needs known image sizes, got {x.Shape}");
        var (ih, iw) = (x.Shape[h].Known, x.Shape[w].Known);
        if (ih < height || iw < width) throw new ShapeException($"{layer}: image {ih}x{iw} is smaller than the crop {height}x{width}");
        if (ih == height && iw == width) return g.Node1("Identity", [x]);
        var (top, left) = ((ih - height) / 2, (iw - width) / 2);
        return g.Node1("Slice", [x, g.Ints("starts", top, left), g.Ints("ends", top + height, left + width), g.Ints("axes", h, w)]);
    }

    protected override bool PropagatesMask(Value x, Value y) => false;
}
