using System.Text.Json.Serialization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Arguments of UpSampling1D (Keras writes only <c>size</c>, one int).</summary>
public sealed record UpSampling1DConfig : LayerConfig
{
    [JsonConverter(typeof(IntOrListConverter))]
    public int[] Size { get; init; } = [2];
}

/// <summary>Arguments of UpSampling2D.</summary>
public sealed record UpSampling2DConfig : LayerConfig
{
    public int[] Size { get; init; } = [2, 2];
    public string? DataFormat { get; init; } = Spatial.ChannelsLast;
    public string? Interpolation { get; init; } = "nearest";
}

/// <summary>Arguments of UpSampling3D.</summary>
public sealed record UpSampling3DConfig : LayerConfig
{
    public int[] Size { get; init; } = [2, 2, 2];
    public string? DataFormat { get; init; } = Spatial.ChannelsLast;
}

/// <summary>Nearest upsampling repeats every element along each spatial axis: y[…, i, …] = x[…, ⌊i/s⌋, …]. Emitted as
/// Unsqueeze → Expand → Reshape per axis (plain differentiable ops); bilinear (2D) uses ONNX Resize with
/// half-pixel centers, as TensorFlow's resize does.</summary>
public abstract class BaseUpSampling : UnaryLayer
{
    protected BaseUpSampling(LayerConfig config, int rank, int[] size, string? dataFormat, string? interpolation) : base(config)
    {
        Rank = rank;
        Size = Spatial.Tuple(size, rank, "size", 2);
        ChannelsLast = Spatial.IsChannelsLast(dataFormat);
        var hasInterpolation = rank == 2;
        interpolation ??= "nearest";
        if (interpolation != "nearest" && !(hasInterpolation && interpolation == "bilinear"))
            throw new ArgumentException($"{ClassName} interpolation must be 'nearest'{(hasInterpolation ? " or 'bilinear'" : "")}, got '{interpolation}'");
        Bilinear = interpolation == "bilinear";
    }

    public abstract override LayerConfig Config { get; }
    public int Rank { get; }
    public long[] Size { get; }
    public bool ChannelsLast { get; }
    public bool Bilinear { get; }

    protected override void Build(TensorType input)
    {
        if (input.Shape.Rank != Rank + 2) throw new ArgumentException($"{ClassName} expects a rank-{Rank + 2} input, got {input.Shape}");
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        if (Bilinear) return Resize(g, x);
        var first = ChannelsLast ? 1 : 2;
        for (var i = 0; i < Rank; i++)
        {
            if (Size[i] == 1) continue;
            var axis = first + i;
            var trailing = x.Shape.Dims.Skip(axis + 1).ToList();
            if (trailing.Any(d => !d.IsKnown)) return ResizeNearest(g, x);
            var u = g.Node1("Unsqueeze", [x, g.Ints(axis + 1)]);
            long[] expand = [.. Enumerable.Repeat(1L, axis + 1), Size[i], .. Enumerable.Repeat(1L, trailing.Count)];
            u = g.Node1("Expand", [u, g.Ints("repeat", expand)]);
            // 0 copies the leading dims (batch may be symbolic); −1 merges the axis with its repeats.
            long[] target = [.. Enumerable.Repeat(0L, axis), -1, .. trailing.Select(d => d.Known)];
            x = g.Node1("Reshape", [u, g.Ints("shape", target)]);
        }
        return x;
    }

    private float[] Scales()
    {
        var first = ChannelsLast ? 1 : 2;
        var scales = Enumerable.Repeat(1f, Rank + 2).ToArray();
        for (var i = 0; i < Rank; i++) scales[first + i] = Size[i];
        return scales;
    }

    /// <summary>Nearest repeat where some later dim is unknown: Resize(asymmetric, floor) picks ⌊i/s⌋ exactly.</summary>
    private Value ResizeNearest(GraphBuilder g, Value x)
    {
        var scales = g.Constant(Scales(), [Rank + 2], "scales");
        return g.Node1("Resize", [x, null, scales], [Attr.String("mode", "nearest"),
            Attr.String("coordinate_transformation_mode", "asymmetric"), Attr.String("nearest_mode", "floor")]);
    }

    private Value Resize(GraphBuilder g, Value x)
    {
        var nc = Spatial.ToChannelsFirst(g, x, ChannelsLast);
        var scales = Enumerable.Repeat(1f, 2).Concat(Size.Select(s => (float)s)).ToArray();
        var y = g.Node1("Resize", [nc, null, g.Constant(scales, [scales.Length], "scales")],
            [Attr.String("mode", "linear"), Attr.String("coordinate_transformation_mode", "half_pixel")]);
        return Spatial.ToChannelsLast(g, y, ChannelsLast);
    }

    protected override bool PropagatesMask(Value x, Value y) => false;
}

public sealed class UpSampling1D : BaseUpSampling
{
    public UpSampling1D(UpSampling1DConfig config) : base(config, 1, config.Size, null, null) => Config = config;
    public override UpSampling1DConfig Config { get; }
}

public sealed class UpSampling2D : BaseUpSampling
{
    public UpSampling2D(UpSampling2DConfig config) : base(config, 2, config.Size, config.DataFormat, config.Interpolation) => Config = config;
    public override UpSampling2DConfig Config { get; }
}

public sealed class UpSampling3D : BaseUpSampling
{
    public UpSampling3D(UpSampling3DConfig config) : base(config, 3, config.Size, config.DataFormat, null) => Config = config;
    public override UpSampling3DConfig Config { get; }
}
