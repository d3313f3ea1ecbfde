using System.Text.Json.Serialization;
using NeuralService.Graph.Core;

namespace NeuralService.Graph.Layers;

/// <summary>Arguments of Cropping1D ([batch, steps, features]; no data_format): <c>cropping</c> is an int or a (begin, end) pair.</summary>
public sealed record Cropping1DConfig : LayerConfig
{
    [JsonConverter(typeof(IntPairsConverter))]
    public int[][] Cropping { get; init; } = [[1], [1]];
}

/// <summary>Arguments of Cropping2D/3D: <c>cropping</c> is an int, one int per axis or a (begin, end) pair per axis.</summary>
public sealed record CroppingConfig : LayerConfig
{
    [JsonConverter(typeof(IntPairsConverter))]
    public int[][] Cropping { get; init; } = [[0]];
    public string? DataFormat { get; init; } = Spatial.ChannelsLast;
}

/// <summary>Removes begin/end elements of every spatial axis: y = x[…, begin : len − end, …] (ONNX Slice).</summary>
public abstract class BaseCropping : UnaryLayer
{
    protected BaseCropping(LayerConfig config, int rank, int[][] cropping, string? dataFormat) : base(config)
    {
        Rank = rank;
        Amounts = IntPairsConverter.Normalize(cropping, rank, "cropping");
        ChannelsLast = Spatial.IsChannelsLast(dataFormat);
    }

    public abstract override LayerConfig Config { get; }
    public int Rank { get; }
    public (long Begin, long End)[] Amounts { get; }
    public bool ChannelsLast { get; }

    protected override void Build(TensorType input)
    {
        if (input.Shape.Rank != Rank + 2) throw new ArgumentException($"{ClassName} expects a rank-{Rank + 2} input, got {input.Shape}");
        var first = ChannelsLast ? 1 : 2;
        for (var i = 0; i < Rank; i++)
            if (input.Shape[first + i] is { IsKnown: true } d && Amounts[i].Begin + Amounts[i].End >= d.Known)
                throw new ArgumentException($"cropping ({Amounts[i].Begin}, {Amounts[i].End}) leaves nothing of axis {first + i} in {input.Shape}");
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var first = ChannelsLast ? 1 : 2;
        var axes = Enumerable.Range(first, Rank).Select(a => (long)a).ToArray();
        var starts = Amounts.Select(a => a.Begin).ToArray();
        var ends = Amounts.Select(a => a.End == 0 ? long.MaxValue : -a.End).ToArray();
        return g.Node1("Slice", [x, g.Ints("starts", starts), g.Ints("ends", ends), g.Ints("axes", axes)]);
    }

    protected override bool PropagatesMask(Value x, Value y) => false;
}

public sealed class Cropping1D : BaseCropping
{
    public Cropping1D(Cropping1DConfig config) : base(config, 1, config.Cropping, null) => Config = config;
    public override Cropping1DConfig Config { get; }
}

public sealed class Cropping2D : BaseCropping
{
    public Cropping2D(CroppingConfig config) : base(config, 2, config.Cropping, config.DataFormat) => Config = config;
    public override CroppingConfig Config { get; }
}

public sealed class Cropping3D : BaseCropping
{
    public Cropping3D(CroppingConfig config) : base(config, 3, config.Cropping, config.DataFormat) => Config = config;
    public override CroppingConfig Config { get; }
}
