using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

public sealed record DotConfig : LayerConfig
{
    /// <summary>One axis for both inputs, or [axis of x0, axis of x1] (never the batch axis 0).</summary>
    public int[] Axes { get; init; } = [];
    /// <summary>L2-normalize both inputs along the dot axes first (y = cosine similarity).</summary>
    public bool Normalize { get; init; }
}

/// <summary>Keras's batch_dot: y[b, i…, j…] = Σ_k x0[b, i…, k, …]·x1[b, j…, k, …]; a result with only the batch
/// axis gets a trailing axis of 1. With normalize, xᵢ ← xᵢ / √max(Σ xᵢ², 1e−12) along the dot axis first.</summary>
public sealed class Dot : Merge
{
    public Dot(DotConfig config) : base(config)
    {
        if (config.Axes is null || config.Axes.Length is not (1 or 2))
            throw new ArgumentException($"Dot axes must be one int or a list of two, got ({string.Join(", ", config.Axes ?? [])})");
        if (config.Axes.Contains(0)) throw new ArgumentException($"Dot axes cannot include the batch axis 0, got ({string.Join(", ", config.Axes)})");
        Config = config;
    }

    public Dot(int[] axes, bool normalize = false, string? name = null) : this(new DotConfig { Axes = axes, Normalize = normalize, Name = name }) { }
    public Dot(int axes, bool normalize = false, string? name = null) : this([axes], normalize, name) { }

    public override DotConfig Config { get; }
    protected override int? ExactInputs => 2;

    protected override Value Combine(GraphBuilder g, IReadOnlyList<Value> inputs)
    {
        var (x, y) = (inputs[0], inputs[1]);
        if (x.Rank < 2 || y.Rank < 2) throw new ShapeException($"Dot needs inputs of rank >= 2, got {x.Shape} and {y.Shape}");
        var a0 = Config.Axes[0];
        var a1 = Config.Axes.Length == 2 ? Config.Axes[1] : Config.Axes[0];
        a0 = a0 < 0 ? a0 + x.Rank : a0;
        a1 = a1 < 0 ? a1 + y.Rank : a1;
        if (a0 <= 0 || a0 >= x.Rank || a1 <= 0 || a1 >= y.Rank)
            throw new ShapeException($"Dot axes ({string.Join(", ", Config.Axes)}) do not fit inputs {x.Shape} and {y.Shape}");
        if (x.Shape[a0].IsKnown && y.Shape[a1].IsKnown && x.Shape[a0].Known != y.Shape[a1].Known)
            throw new ShapeException($"Dot: axis {a0} of {x.Shape} and axis {a1} of {y.Shape} differ in size");
        if (Config.Normalize)
        {
            x = L2Normalize(g, x, a0);
            y = L2Normalize(g, y, a1);
        }
        const string letters = "cdefghijklmnopqrstuvwxy";
        var next = 0;
        var tx = new char[x.Rank];
        var ty = new char[y.Rank];
        tx[0] = ty[0] = 'b';
        tx[a0] = ty[a1] = 'z';
        for (var i = 1; i < x.Rank; i++) if (i != a0) tx[i] = letters[next++];
        for (var i = 1; i < y.Rank; i++) if (i != a1) ty[i] = letters[next++];
        var output = "b" + new string(tx.Where((c, i) => i != 0 && i != a0).ToArray()) + new string(ty.Where((c, i) => i != 0 && i != a1).ToArray());
        var r = g.Node1("Einsum", [x, y], [Attr.String("equation", $"{new string(tx)},{new string(ty)}->{output}")]);
        return output.Length == 1 ? g.Node1("Unsqueeze", [r, g.Ints("axes", 1)]) : r;
    }

    /// <summary>Keras's Dot gives no mask.</summary>
    protected override bool MergesMasks(IReadOnlyList<Value> inputs, Value y) => false;

    private static Value L2Normalize(GraphBuilder g, Value x, int axis)
    {
        var sq = g.Node1("ReduceSumSquare", [x], [Attr.Ints("axes", [(long)axis]), Attr.Int("keepdims", 1)]);
        var norm = g.Node1("Sqrt", [g.Node1("Max", [sq, g.Scalar(1e-12, x.DType)])]);
        return g.Node1("Div", [x, norm]);
    }
}
