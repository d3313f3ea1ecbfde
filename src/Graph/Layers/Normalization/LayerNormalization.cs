using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Keras 3's <c>LayerNormalization</c> arguments (every key its <c>get_config()</c> writes).</summary>
public sealed record LayerNormalizationConfig : LayerConfig
{
    /// <summary>Axes normalized over (Keras accepts an int or a list; it writes a list).</summary>
    public int[] Axis { get; init; } = [-1];
    public double Epsilon { get; init; } = 1e-3;
    public bool Center { get; init; } = true;
    public bool Scale { get; init; } = true;
    public bool RmsScaling { get; init; }
    public ObjectSpec BetaInitializer { get; init; } = Specs.Zeros;
    public ObjectSpec GammaInitializer { get; init; } = Specs.Ones;
    public ObjectSpec? BetaRegularizer { get; init; }
    public ObjectSpec? GammaRegularizer { get; init; }
    public ObjectSpec? BetaConstraint { get; init; }
    public ObjectSpec? GammaConstraint { get; init; }
}

/// <summary>Per-sample normalization over <c>axis</c>: y = (x − mean)/√(var + ε)·γ + β, mean and var (biased)
/// taken over the axes; with <c>rms_scaling</c> y = x/√(mean(x²) + ε)·γ and no β. γ and β have the shape of
/// the normalized dims. Inference uses ONNX's fused LayerNormalization when the axes are the trailing ones;
/// training mode (and any other case) emits ReduceMean/Sub/Mul/Sqrt/Div, which the autodiff can differentiate.</summary>
public sealed class LayerNormalization : UnaryLayer
{
    private Weight? _gamma;
    private Weight? _beta;
    private int[] _axes = [];
    private long[] _broadcastShape = [];

    public LayerNormalization(LayerNormalizationConfig config) : base(config)
    {
        if (config.Axis.Length == 0) throw new ArgumentException("LayerNormalization axis must name at least one axis, got []");
        if (!(config.Epsilon > 0)) throw new ArgumentException($"LayerNormalization epsilon must be positive, got {config.Epsilon}");
        Config = config;
    }

    public LayerNormalization(double epsilon = 1e-3, int axis = -1, string? name = null)
        : this(new LayerNormalizationConfig { Epsilon = epsilon, Axis = [axis], Name = name }) { }

    public override LayerNormalizationConfig Config { get; }

    /// <summary>When false, inference also uses the decomposed ops (same numbers; for graphs that must stay differentiable).</summary>
    public bool UseFusedOp { get; set; } = true;

    /// <summary>The normalized axes, non-negative and sorted (after build).</summary>
    public IReadOnlyList<int> Axes => _axes;

    protected override void Build(TensorType input)
    {
        var rank = input.Shape.Rank;
        var axes = Config.Axis.Select(a =>
        {
            var n = a < 0 ? a + rank : a;
            if (n <= 0 && rank > 1 || n < 0 || n >= rank) throw new ArgumentException($"axis {a} is out of range for input rank {rank} (the batch axis cannot be normalized)");
            return n;
        }).Distinct().Order().ToArray();
        foreach (var a in axes)
            if (!input.Shape[a].IsKnown) throw new ArgumentException($"normalized axis {a} must have a known size, got {input.Shape}");
        _axes = axes;
        var paramShape = axes.Select(a => input.Shape[a].Known).ToArray();
        _broadcastShape = Enumerable.Range(0, rank).Select(i => axes.Contains(i) ? input.Shape[i].Known : 1L).ToArray();
        if (Config.Scale || Config.RmsScaling)
            _gamma = AddWeight("gamma", paramShape, Config.GammaInitializer, regularizer: Config.GammaRegularizer, constraint: Config.GammaConstraint);
        if (Config.Center && !Config.RmsScaling)
            _beta = AddWeight("beta", paramShape, Config.BetaInitializer, regularizer: Config.BetaRegularizer, constraint: Config.BetaConstraint);
    }

    private bool Trailing(int rank) => _axes.Length > 0 && _axes[^1] == rank - 1 && _axes[^1] - _axes[0] == _axes.Length - 1;

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var rank = x.Rank;
        if (UseFusedOp && !ctx.Training && !Config.RmsScaling && Trailing(rank))
        {
            // ONNX's op wants a scale even without γ; its shape is that of the normalized dims.
            var scale = _gamma is not null ? Use(g, _gamma)
                : g.Constant(Tensors.Create("ones", Enumerable.Repeat(1f, (int)_axes.Select(a => x.Shape[a].Known).Aggregate(1L, (p, d) => p * d)).ToArray(),
                    _axes.Select(a => x.Shape[a].Known).ToArray()), "ones");
            return g.Node1("LayerNormalization", [x, scale, _beta is null ? null : Use(g, _beta)],
                [Attr.Int("axis", _axes[0]), Attr.Float("epsilon", (float)Config.Epsilon)]);
        }
        return Decomposed(g, x);
    }

    private Value Decomposed(GraphBuilder g, Value x)
    {
        var axes = Attr.Ints("axes", _axes);
        var eps = g.Scalar(Config.Epsilon, x.DType, "epsilon");
        var mean = g.Node1("ReduceMean", [x], [axes, Attr.Int("keepdims", 1)], name: "Mean");
        var centered = g.Node1("Sub", [x, mean]);
        var variance = g.Node1("ReduceMean", [g.Node1("Mul", [centered, centered])], [axes, Attr.Int("keepdims", 1)], name: "Variance");
        var y = g.Node1("Div", [Config.RmsScaling ? x : centered, g.Node1("Sqrt", [g.Node1("Add", [variance, eps])])]);
        if (_gamma is not null) y = g.Node1("Mul", [y, Broadcast(g, Use(g, _gamma), x.Rank)]);
        if (_beta is not null) y = g.Node1("Add", [y, Broadcast(g, Use(g, _beta), x.Rank)]);
        return y;
    }

    // Trailing axes broadcast as they are; others need γ/β reshaped to 1s outside the normalized axes.
    private Value Broadcast(GraphBuilder g, Value w, int rank) =>
        Trailing(rank) ? w : g.Node1("Reshape", [w, g.Ints(_broadcastShape)]);
}
