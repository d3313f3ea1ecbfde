using System.Text.Json.Serialization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Keras 3's <c>MultiHeadAttention</c> arguments (every key its <c>get_config()</c> writes).</summary>
public sealed record MultiHeadAttentionConfig : LayerConfig
{
    public int NumHeads { get; init; }
    public int KeyDim { get; init; }
    /// <summary>Defaults to <see cref="KeyDim"/>.</summary>
    public int? ValueDim { get; init; }
    public double Dropout { get; init; }
    public bool UseBias { get; init; } = true;
    /// <summary>Gated attention: the heads' outputs are multiplied by sigmoid(q·Wg + bg) before the output projection.</summary>
    public bool UseGate { get; init; }
    /// <summary>Last dim of the output (null = the query's last dim); Keras accepts an int or a 1-tuple here.</summary>
    public int[]? OutputShape { get; init; }
    /// <summary>Axes attention runs over (null = every axis between batch and features).</summary>
    public int[]? AttentionAxes { get; init; }
    /// <summary>Keeps only |i − j| &lt; sliding_window (a symmetric band; null = full attention).</summary>
    public int? SlidingWindow { get; init; }
    public ObjectSpec KernelInitializer { get; init; } = Specs.GlorotUniform;
    public ObjectSpec BiasInitializer { get; init; } = Specs.Zeros;
    public ObjectSpec? KernelRegularizer { get; init; }
    public ObjectSpec? BiasRegularizer { get; init; }
    public ObjectSpec? ActivityRegularizer { get; init; }
    public ObjectSpec? KernelConstraint { get; init; }
    public ObjectSpec? BiasConstraint { get; init; }
    public int? Seed { get; init; }
    /// <summary>Written by newer Keras versions only; a backend speed switch with no effect on the numbers.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? FlashAttention { get; init; }
}

/// <summary>Keras's multi-head attention. For each head h (Keras weight layout):
/// Q_h = q·Wq[:,h,:] + bq[h], K_h = k·Wk[:,h,:] + bk[h], V_h = v·Wv[:,h,:] + bv[h];
/// P_h = softmax(where(M, Q_h·K_hᵀ/√key_dim, −1e9)) over the attention axes; y = Σ_h (P_h·V_h)·Wo[h] + bo.
/// Inputs: [query, value], [query, value, key] or [query, value, key, attention_mask] (pass key = value when there
/// is none; <see cref="ApplyAttention"/> builds that list). M = attention_mask [B,T,S] (bool, or &gt; 0.5)
/// ∧ query/value Keras masks ∧ (i ≥ j) when the call argument <c>use_causal_mask</c> is true. With the call argument
/// <c>return_attention_scores</c> a second output carries P [B,heads,T,S]. With <c>sliding_window</c> w, M also keeps
/// only |i − j| &lt; w; with <c>use_gate</c>, the concatenated heads are multiplied by sigmoid(q·Wg + bg) (Wg [dq,heads,value_dim])
/// before the output projection.</summary>
public sealed class MultiHeadAttention : Layer
{
    private Weight? _qKernel, _qBias, _kKernel, _kBias, _gKernel, _gBias, _vKernel, _vBias, _oKernel, _oBias;
    private int[] _attentionAxes = [];

    public MultiHeadAttention(MultiHeadAttentionConfig config) : base(config)
    {
        if (config.NumHeads <= 0) throw new ArgumentException($"MultiHeadAttention num_heads must be positive, got {config.NumHeads}");
        if (config.KeyDim <= 0) throw new ArgumentException($"MultiHeadAttention key_dim must be positive, got {config.KeyDim}");
        if (config.ValueDim is <= 0) throw new ArgumentException($"MultiHeadAttention value_dim must be positive, got {config.ValueDim}");
        if (config.Dropout is < 0 or >= 1) throw new ArgumentException($"MultiHeadAttention dropout must be in [0, 1), got {config.Dropout}");
        if (config.OutputShape is { } os && (os.Length != 1 || os[0] <= 0))
            throw new ArgumentException($"MultiHeadAttention output_shape must be one positive int, got [{string.Join(", ", os)}]");
        if (config.SlidingWindow is <= 0) throw new ArgumentException($"MultiHeadAttention sliding_window must be a positive int, got {config.SlidingWindow}");
        Config = config;
    }

    public MultiHeadAttention(int numHeads, int keyDim, int? valueDim = null, double dropout = 0, bool useBias = true, string? name = null)
        : this(new MultiHeadAttentionConfig { NumHeads = numHeads, KeyDim = keyDim, ValueDim = valueDim, Dropout = dropout, UseBias = useBias, Name = name }) { }

    public override MultiHeadAttentionConfig Config { get; }
    public int ValueDim => Config.ValueDim ?? Config.KeyDim;
    /// <summary>The resolved attention axes (after build).</summary>
    public IReadOnlyList<int> AttentionAxes => _attentionAxes;

    /// <summary>Calls the layer on query/value (key, attention_mask optional) with Keras's call arguments.</summary>
    public KerasTensor ApplyAttention(KerasTensor query, KerasTensor value, KerasTensor? key = null, KerasTensor? attentionMask = null,
        bool useCausalMask = false)
    {
        var inputs = new List<KerasTensor> { query, value };
        if (key is not null || attentionMask is not null) inputs.Add(key ?? value);
        if (attentionMask is not null) inputs.Add(attentionMask);
        return Apply(inputs, new Dictionary<string, object?> { ["use_causal_mask"] = useCausalMask, ["attention_mask"] = attentionMask is not null });
    }

    protected override void Build(IReadOnlyList<TensorType> inputs)
    {
        if (inputs.Count is < 2 or > 4) throw new ArgumentException($"MultiHeadAttention takes [query, value, key?, attention_mask?], got {inputs.Count} inputs");
        BuildFor(inputs[0].Shape, inputs[1].Shape, inputs.Count >= 3 ? inputs[2].Shape : inputs[1].Shape);
    }

    /// <summary>Creates the weights for these query/value/key shapes (also used by blocks that own this layer).</summary>
    internal void BuildFor(Shape query, Shape value, Shape key)
    {
        var rank = query.Rank;
        if (rank < 3) throw new ArgumentException($"the query must have rank >= 3 ([batch, ..., dim]), got {query}");
        if (value.Rank != rank || key.Rank != rank) throw new ArgumentException($"query {query}, value {value} and key {key} must have the same rank");
        foreach (var s in new[] { query, value, key })
            if (!s[-1].IsKnown) throw new ArgumentException($"the last dim of every input must be known, got {s}");
        _attentionAxes = (Config.AttentionAxes ?? Enumerable.Range(1, rank - 2).ToArray()).Select(a =>
        {
            var n = a < 0 ? a + rank : a;
            return n >= 1 && n <= rank - 2 ? n : throw new ArgumentException($"attention axis {a} must lie between the batch and the feature axis of rank-{rank} inputs");
        }).Distinct().Order().ToArray();
        var (h, kd, vd) = ((long)Config.NumHeads, (long)Config.KeyDim, (long)ValueDim);
        var outDim = Config.OutputShape?[0] ?? query[-1].Known;
        Weight Kernel(string n, long[] shape) =>
            AddWeight(n, shape, Config.KernelInitializer, regularizer: Config.KernelRegularizer, constraint: Config.KernelConstraint);
        Weight? Bias(string n, long[] shape) => Config.UseBias
            ? AddWeight(n, shape, Config.BiasInitializer, regularizer: Config.BiasRegularizer, constraint: Config.BiasConstraint) : null;
        _qKernel = Kernel("query/kernel", [query[-1].Known, h, kd]);
        _qBias = Bias("query/bias", [h, kd]);
        _kKernel = Kernel("key/kernel", [key[-1].Known, h, kd]);
        _kBias = Bias("key/bias", [h, kd]);
        if (Config.UseGate)
        {
            _gKernel = Kernel("gate/kernel", [query[-1].Known, h, vd]);
            _gBias = Bias("gate/bias", [h, vd]);
        }
        _vKernel = Kernel("value/kernel", [value[-1].Known, h, vd]);
        _vBias = Bias("value/bias", [h, vd]);
        _oKernel = Kernel("attention_output/kernel", [h, vd, outDim]);
        _oBias = Bias("attention_output/bias", [outDim]);
    }

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        if (inputs.Count is < 2 or > 4) throw new ShapeException($"MultiHeadAttention takes 2 to 4 inputs, got {inputs.Count}");
        var key = inputs.Count >= 3 ? inputs[2] : null;
        var mask = inputs.Count == 4 ? inputs[3] : null;
        return Attend(g, inputs[0], inputs[1], key, mask, ctx.Argument("use_causal_mask", false), ctx,
            ctx.Argument("return_attention_scores", false));
    }

    /// <summary>Emits the attention of this (built) layer with explicit masks.</summary>
    internal IReadOnlyList<Value> Attend(GraphBuilder g, Value query, Value value, Value? key, Value? attentionMask, bool causal,
        CallContext ctx, bool returnScores = false)
    {
        key ??= value;
        var rank = query.Rank;
        var single = _attentionAxes.Length == 1;
        var others = Enumerable.Range(1, rank - 2).Where(a => !_attentionAxes.Contains(a)).ToArray();
        // Projected tensors are [B, a..., heads, d]; move to [B, others..., heads, attention axes..., d].
        var perm = new long[] { 0 }.Concat(others.Select(a => (long)a)).Append(rank - 1)
            .Concat(_attentionAxes.Select(a => (long)a)).Append(rank).ToArray();
        var inverse = new long[perm.Length];
        for (var i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        var lead = 2 + others.Length;

        Value Project(Value x, Weight kernel, Weight? bias, long depth, string name)
        {
            using var _ = g.Scope(name);
            var w = g.Node1("Reshape", [Use(g, kernel), g.Ints(kernel.Shape[0], Config.NumHeads * depth)]);
            var y = g.Node1("MatMul", [x, w]);
            if (bias is not null) y = g.Node1("Add", [y, g.Node1("Reshape", [Use(g, bias), g.Ints(Config.NumHeads * depth)])]);
            return g.Node1("Reshape", [y, g.Ints([.. Enumerable.Repeat(0L, rank - 1), Config.NumHeads, depth])]);
        }
        Value Arrange(Value p, long depth)
        {
            var t = g.Node1("Transpose", [p], [Attr.Ints("perm", perm)]);
            return single ? t : g.Node1("Reshape", [t, g.Ints([.. Enumerable.Repeat(0L, lead), -1, depth])], name: "FlattenAttentionAxes");
        }

        var q = Project(query, _qKernel!, _qBias, Config.KeyDim, "query");
        var k = Project(key, _kKernel!, _kBias, Config.KeyDim, "key");
        var v = Project(value, _vKernel!, _vBias, ValueDim, "value");
        q = g.Node1("Mul", [q, g.Scalar(1 / Math.Sqrt(Config.KeyDim), q.DType)], name: "ScaleQuery");
        var qf = Arrange(q, Config.KeyDim);
        var kf = Arrange(k, Config.KeyDim);
        var vf = Arrange(v, ValueDim);
        var kPerm = Enumerable.Range(0, kf.Rank).Select(i => (long)i).ToArray();
        (kPerm[^1], kPerm[^2]) = (kPerm[^2], kPerm[^1]);
        var scores = g.Node1("MatMul", [qf, g.Node1("Transpose", [kf], [Attr.Ints("perm", kPerm)])], name: "Scores");

        var mask = CombinedMask(g, query, value, key, attentionMask, causal, ctx, single);
        if (mask is not null && mask.Rank == 3) mask = AttentionMath.ExpandMask(g, mask, 1 + others.Length);
        var probs = AttentionMath.MaskedSoftmax(g, scores, mask);
        var dropped = AttentionMath.Dropout(g, probs, Config.Dropout, ctx, NextSeed(ctx));
        var o = g.Node1("MatMul", [dropped, vf], name: "Context");
        if (!single)
        {
            var qDims = _attentionAxes.Select(a => query.Shape[a].IsKnown ? query.Shape[a].Known
                : throw new ShapeException($"several attention axes need known sizes, got query {query.Shape}"));
            o = g.Node1("Reshape", [o, g.Ints([.. Enumerable.Repeat(0L, lead), .. qDims, ValueDim])], name: "UnflattenAttentionAxes");
        }
        o = g.Node1("Transpose", [o], [Attr.Ints("perm", inverse)]);
        if (_gKernel is not null)
        {
            var gate = g.Node1("Sigmoid", [Project(query, _gKernel, _gBias, ValueDim, "gate")]);
            o = g.Node1("Mul", [o, gate], name: "Gate");
        }
        o = g.Node1("Reshape", [o, g.Ints([.. Enumerable.Repeat(0L, rank - 1), Config.NumHeads * ValueDim])]);
        Value y;
        using (g.Scope("attention_output"))
        {
            var wo = g.Node1("Reshape", [Use(g, _oKernel!), g.Ints(Config.NumHeads * ValueDim, _oKernel!.Shape[2])]);
            y = g.Node1("MatMul", [o, wo]);
            if (_oBias is not null) y = g.Node1("Add", [y, Use(g, _oBias)]);
        }
        if (ctx.MaskOf(query) is { } qm) ctx.SetMask(y, qm);
        return returnScores ? [y, probs] : [y];
    }

    private Value? CombinedMask(GraphBuilder g, Value query, Value value, Value key, Value? attentionMask, bool causal, CallContext ctx, bool single)
    {
        Value? auto = null;
        if (ctx.MaskOf(query) is { } qm) auto = g.Node1("Unsqueeze", [AttentionMath.ToBool(g, qm), g.Ints(-1)], name: "QueryMask");
        if (ctx.MaskOf(value) is { } vm) auto = AttentionMath.And(g, auto, g.Node1("Unsqueeze", [AttentionMath.ToBool(g, vm), g.Ints(-2)], name: "ValueMask"));
        if (key != value && ctx.MaskOf(key) is { } km) auto = AttentionMath.And(g, auto, g.Node1("Unsqueeze", [AttentionMath.ToBool(g, km), g.Ints(-2)], name: "KeyMask"));
        if (causal)
        {
            if (!single) throw new ShapeException("use_causal_mask needs a single attention axis");
            auto = AttentionMath.And(g, auto, AttentionMath.CausalMask(g, query, value));
        }
        if (Config.SlidingWindow is { } w)
        {
            if (!single) throw new ShapeException("sliding_window needs a single attention axis");
            auto = AttentionMath.And(g, auto, AttentionMath.BandMask(g, query, value, w));
        }
        if (auto is not null && (auto.Rank > 3 || !single)) throw new ShapeException("Keras masks on inputs need a single attention axis");
        if (attentionMask is null) return auto;
        var m = AttentionMath.ToBool(g, attentionMask);
        if (!single)
        {
            // [B, T..., S...] → [B, T, S] in the flattened attention layout.
            var s = _attentionAxes.Aggregate(1L, (p, a) => p * (value.Shape[a].IsKnown ? value.Shape[a].Known
                : throw new ShapeException($"several attention axes need known sizes, got value {value.Shape}")));
            m = g.Node1("Reshape", [m, g.Ints(0, -1, s)]);
        }
        return AttentionMath.And(g, m, auto);
    }

    public override string ToString() => $"MultiHeadAttention '{Name}' ({Config.NumHeads} heads)";
}
