using System.Text.Json.Serialization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Arguments of ZeroPadding1D/2D/3D: <c>padding</c> is an int, one int per axis or a (begin, end) pair per axis
/// (ZeroPadding1D: an int or one (left, right) pair).</summary>
public sealed record ZeroPaddingConfig : LayerConfig
{
    [JsonConverter(typeof(IntPairsConverter))]
    public int[][] Padding { get; init; } = [[1]];
    public string? DataFormat { get; init; } = Spatial.ChannelsLast;
}

/// <summary>Pads every spatial axis with zeros: y = x placed at offset begin, length in + begin + end (ONNX Pad).</summary>
public abstract class BaseZeroPadding : UnaryLayer
{
    protected BaseZeroPadding(ZeroPaddingConfig config, int rank) : base(config)
    {
        Rank = rank;
        Amounts = IntPairsConverter.Normalize(config.Padding, rank, "padding");
        ChannelsLast = Spatial.IsChannelsLast(config.DataFormat);
        Config = config;
    }

    public override ZeroPaddingConfig Config { get; }
    public int Rank { get; }
    public (long Begin, long End)[] Amounts { get; }
    public bool ChannelsLast { get; }

    protected override void Build(TensorType input)
    {
        if (input.Shape.Rank != Rank + 2) throw new ArgumentException($"{ClassName} expects a rank-{Rank + 2} input, got {input.Shape}");
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var first = ChannelsLast ? 1 : 2;
        var begins = new long[Rank + 2];
        var ends = new long[Rank + 2];
        for (var i = 0; i < Rank; i++) (begins[first + i], ends[first + i]) = Amounts[i];
        return g.Node1("Pad", [x, g.Ints("pads", [.. begins, .. ends])], [Attr.String("mode", "constant")]);
    }

    protected override bool PropagatesMask(Value x, Value y) => false;
}

public sealed class ZeroPadding1D : BaseZeroPadding
{
    public ZeroPadding1D(ZeroPaddingConfig config) : base(config, 1) { }
}

public sealed class ZeroPadding2D : BaseZeroPadding
{
    public ZeroPadding2D(ZeroPaddingConfig config) : base(config, 2) { }
}

public sealed class ZeroPadding3D : BaseZeroPadding
{
    public ZeroPadding3D(ZeroPaddingConfig config) : base(config, 3) { }
}
