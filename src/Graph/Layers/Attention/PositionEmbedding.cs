using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>keras-hub's <c>PositionEmbedding</c> arguments.</summary>
public sealed record PositionEmbeddingConfig : LayerConfig
{
    /// <summary>Longest sequence the table covers.</summary>
    public int SequenceLength { get; init; }
    /// <summary>Mix of the coarse and fine rows when an input is longer than the table (newer keras-hub).</summary>
    public double HierarchicalAlpha { get; init; } = 0.4;
    public ObjectSpec Initializer { get; init; } = Specs.GlorotUniform;
}

/// <summary>keras-hub's learned position embedding: y[b, t, :] = E[start_index + t, :], E [sequence_length, dim] the
/// <c>embeddings</c> weight; the input only lends its shape [B, T, dim] (add y to the input yourself, as in keras-hub).
/// The call argument <c>start_index</c> (int, default 0) offsets the positions. Inputs longer than the table (T &gt; L,
/// T known) use keras-hub's hierarchical extension: E' = (E − α·E[0])/(1 − α), y[t] = α·E'[t div L] + (1 − α)·E'[t mod L].</summary>
public sealed class PositionEmbedding : UnaryLayer
{
    private Weight? _embeddings;

    public PositionEmbedding(PositionEmbeddingConfig config) : base(config)
    {
        if (config.SequenceLength <= 0) throw new ArgumentException($"PositionEmbedding sequence_length must be positive, got {config.SequenceLength}");
        Config = config;
    }

    public PositionEmbedding(int sequenceLength, string? name = null)
        : this(new PositionEmbeddingConfig { SequenceLength = sequenceLength, Name = name }) { }

    public override PositionEmbeddingConfig Config { get; }

    protected override void Build(TensorType input)
    {
        if (input.Shape.Rank < 3) throw new ArgumentException($"PositionEmbedding needs [batch, ..., time, dim], got {input.Shape}");
        if (!input.Shape[-1].IsKnown) throw new ArgumentException($"the last input dim must be known, got {input.Shape}");
        _embeddings = AddWeight("embeddings", [Config.SequenceLength, input.Shape[-1].Known], Config.Initializer);
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var start = (long)ctx.Argument("start_index", 0);
        var t = x.Shape[-2];
        if (t.IsKnown && t.Known >= Config.SequenceLength) return Hierarchical(g, x, t.Known);
        if (t.IsKnown && start + t.Known > Config.SequenceLength)
            throw new ShapeException($"positions {start}..{start + t.Known - 1} exceed sequence_length {Config.SequenceLength}");
        var end = t.IsKnown ? g.Ints(start + t.Known)
            : g.Node1("Add", [g.Node1("Shape", [x], [Attr.Int("start", -2), Attr.Int("end", -1)]), g.Ints(start)]);
        var table = g.Node1("Slice", [Use(g, _embeddings!), g.Ints(start), end, g.Ints(0)]);
        return BroadcastLike(g, table, x);
    }

    private Value Hierarchical(GraphBuilder g, Value x, long t)
    {
        var l = Config.SequenceLength;
        var alpha = Config.HierarchicalAlpha;
        var e = Use(g, _embeddings!);
        var first = g.Node1("Slice", [e, g.Ints(0), g.Ints(1), g.Ints(0)]);
        var rescaled = g.Node1("Div", [g.Node1("Sub", [e, g.Node1("Mul", [first, g.Scalar(alpha, x.DType)])]), g.Scalar(1 - alpha, x.DType)]);
        var coarse = g.Node1("Gather", [rescaled, g.Ints("coarse", Enumerable.Range(0, (int)t).Select(i => (long)(i / l)).ToArray())]);
        var fine = g.Node1("Gather", [rescaled, g.Ints("fine", Enumerable.Range(0, (int)t).Select(i => (long)(i % l)).ToArray())]);
        var table = g.Node1("Add", [g.Node1("Mul", [coarse, g.Scalar(alpha, x.DType)]), g.Node1("Mul", [fine, g.Scalar(1 - alpha, x.DType)])], name: "Hierarchical");
        return BroadcastLike(g, table, x);
    }

    /// <summary>Broadcasts a [T, dim] table to x's shape. Where(true, table, x) keeps the static shape that Expand with a
    /// run-time shape would lose; x contributes no values (and no gradient).</summary>
    internal static Value BroadcastLike(GraphBuilder g, Value table, Value x) =>
        g.Node1("Where", [g.Constant(Tensors.Create("true", [true]), "true"), table, x], name: "BroadcastToInput");
}

/// <summary>keras-hub's <c>SinePositionEncoding</c> arguments.</summary>
public sealed record SinePositionEncodingConfig : LayerConfig
{
    public double MaxWavelength { get; init; } = 10000;
}

/// <summary>keras-hub's sinusoidal position encoding (no weights): for position p = start_index + t and feature i of
/// dim D, ω_i = max_wavelength^(−2⌊i/2⌋/D); y[.., t, i] = sin(p·ω_i) for even i, cos(p·ω_i) for odd i.
/// The input [B, T, D] only lends its shape.</summary>
public sealed class SinePositionEncoding : UnaryLayer
{
    public SinePositionEncoding(SinePositionEncodingConfig config) : base(config)
    {
        if (!(config.MaxWavelength > 0)) throw new ArgumentException($"SinePositionEncoding max_wavelength must be positive, got {config.MaxWavelength}");
        Config = config;
    }

    public SinePositionEncoding(double maxWavelength = 10000, string? name = null)
        : this(new SinePositionEncodingConfig { MaxWavelength = maxWavelength, Name = name }) { }

    public override SinePositionEncodingConfig Config { get; }

    protected override void Build(TensorType input)
    {
        if (input.Shape.Rank < 3) throw new ArgumentException($"SinePositionEncoding needs [batch, ..., time, dim], got {input.Shape}");
        if (!input.Shape[-1].IsKnown) throw new ArgumentException($"the last input dim must be known, got {input.Shape}");
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var d = (int)x.Shape[-1].Known;
        var start = ctx.Argument("start_index", 0);
        var t = x.Shape[-2];
        Value positions = t.IsKnown
            ? g.Node1("Range", [g.Scalar(start, x.DType), g.Scalar(start + t.Known, x.DType), g.Scalar(1, x.DType)])
            : g.Node1("Add", [g.Node1("Cast", [AttentionMath.Positions(g, x, x.Rank - 2)], [Attr.Int("to", (long)x.DType)]), g.Scalar(start, x.DType)]);
        var freq = new float[d];
        var sinMask = new float[d];
        var cosMask = new float[d];
        for (var i = 0; i < d; i++)
        {
            freq[i] = (float)Math.Pow(1.0 / Config.MaxWavelength, 2 * (i / 2) / (double)d);
            (sinMask[i], cosMask[i]) = i % 2 == 0 ? (1f, 0f) : (0f, 1f);
        }
        var angles = g.Node1("Mul", [g.Node1("Unsqueeze", [positions, g.Ints(1)]), g.Constant(freq, [1, d], "timescales")]);
        var enc = g.Node1("Add", [
            g.Node1("Mul", [g.Node1("Sin", [angles]), g.Constant(sinMask, [d], "sin_mask")]),
            g.Node1("Mul", [g.Node1("Cos", [angles]), g.Constant(cosMask, [d], "cos_mask")])]);
        return PositionEmbedding.BroadcastLike(g, enc, x);
    }
}
