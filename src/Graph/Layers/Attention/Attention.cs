using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Keras 3's <c>Attention</c> arguments.</summary>
public sealed record AttentionConfig : LayerConfig
{
    public bool UseScale { get; init; }
    /// <summary>"dot" or "concat".</summary>
    public string ScoreMode { get; init; } = "dot";
    public double Dropout { get; init; }
    public int? Seed { get; init; }
}

/// <summary>Keras 3's <c>AdditiveAttention</c> arguments.</summary>
public sealed record AdditiveAttentionConfig : LayerConfig
{
    public bool UseScale { get; init; } = true;
    public double Dropout { get; init; }
    public int? Seed { get; init; }
}

/// <summary>Shared call logic of Keras's dot-product and additive attention. Inputs [query [B,Tq,d], value [B,Tv,d]]
/// or [query, value, key [B,Tv,d]] (key defaults to value); output [B,Tq,d]:
/// P = softmax(where(mask, S, S − 1e9)) over Tv, y = Drop(P)·V, then y ⊙ query_mask. The mask is value_mask[B,1,Tv]
/// (the Keras mask riding on the value) and, with the call argument <c>use_causal_mask</c>, (i ≥ j).
/// With the call argument <c>return_attention_scores</c> the layer also outputs Drop(P) [B,Tq,Tv], as Keras does.</summary>
public abstract class BaseDenseAttention : Layer
{
    protected BaseDenseAttention(LayerConfig config, double dropout) : base(config)
    {
        if (dropout is < 0 or >= 1) throw new ArgumentException($"{GetType().Name} dropout must be in [0, 1), got {dropout}");
    }

    protected abstract double DropoutRate { get; }

    /// <summary>The raw scores S [B,Tq,Tv] from query [B,Tq,d] and key [B,Tv,d].</summary>
    protected abstract Value Scores(GraphBuilder g, Value query, Value key);

    protected override void Build(IReadOnlyList<TensorType> inputs)
    {
        if (inputs.Count is < 2 or > 3) throw new ArgumentException($"{ClassName} takes [query, value] or [query, value, key], got {inputs.Count} inputs");
        foreach (var t in inputs)
            if (t.Shape.Rank != 3) throw new ArgumentException($"{ClassName} inputs must be [batch, time, dim], got {t.Shape}");
        var dim = inputs[0].Shape[-1];
        if (!dim.IsKnown) throw new ArgumentException($"the query's last dim must be known, got {inputs[0].Shape}");
        BuildScores(dim.Known);
    }

    protected virtual void BuildScores(long dim) { }

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        if (inputs.Count is < 2 or > 3) throw new ShapeException($"{ClassName} takes 2 or 3 inputs, got {inputs.Count}");
        var (q, v) = (inputs[0], inputs[1]);
        var k = inputs.Count == 3 ? inputs[2] : v;
        var scores = Scores(g, q, k);
        Value? mask = null;
        if (ctx.MaskOf(v) is { } vm) mask = g.Node1("Unsqueeze", [AttentionMath.ToBool(g, vm), g.Ints(1)], name: "ValueMask");
        if (ctx.Argument("use_causal_mask", false))
            mask = AttentionMath.And(g, mask, AttentionMath.CausalMask(g, q, v));
        // Keras's dense attention subtracts 1e9 from masked scores (MultiHeadAttention replaces them instead).
        if (mask is not null)
            scores = g.Node1("Where", [mask, scores, g.Node1("Sub", [scores, g.Scalar(-AttentionMath.LargeNegative, scores.DType)])], name: "MaskScores");
        var weights = g.Node1("Softmax", [scores], [Attr.Int("axis", -1)]);
        var dropped = AttentionMath.Dropout(g, weights, DropoutRate, ctx, NextSeed(ctx));
        var y = g.Node1("MatMul", [dropped, v]);
        var qm = ctx.MaskOf(q);
        if (qm is not null)
        {
            var keep = g.Node1("Unsqueeze", [g.Node1("Cast", [AttentionMath.ToBool(g, qm)], [Attr.Int("to", (long)y.DType)]), g.Ints(-1)]);
            y = g.Node1("Mul", [y, keep], name: "QueryMask");
            ctx.SetMask(y, qm);
        }
        return ctx.Argument("return_attention_scores", false) ? [y, dropped] : [y];
    }
}

/// <summary>Keras's dot-product (Luong) attention. Scores: "dot" S = s·Q·Kᵀ; "concat" S[i,j] = c·Σ_d tanh(s·(Q[i,d] + K[j,d]))
/// (s = learned scalar <c>scale</c> when use_scale, else 1; c = learned scalar <c>concat_score_weight</c> in concat mode).</summary>
public sealed class Attention : BaseDenseAttention
{
    private Weight? _scale;
    private Weight? _concatScoreWeight;

    public Attention(AttentionConfig config) : base(config, config.Dropout)
    {
        if (config.ScoreMode is not ("dot" or "concat")) throw new ArgumentException($"Attention score_mode must be 'dot' or 'concat', got '{config.ScoreMode}'");
        Config = config;
    }

    public Attention(bool useScale = false, string scoreMode = "dot", double dropout = 0, string? name = null)
        : this(new AttentionConfig { UseScale = useScale, ScoreMode = scoreMode, Dropout = dropout, Name = name }) { }

    public override AttentionConfig Config { get; }
    protected override double DropoutRate => Config.Dropout;

    protected override void BuildScores(long dim)
    {
        if (Config.UseScale) _scale = AddWeight("scale", [], Specs.Ones);
        if (Config.ScoreMode == "concat") _concatScoreWeight = AddWeight("concat_score_weight", [], Specs.Ones);
    }

    protected override Value Scores(GraphBuilder g, Value query, Value key)
    {
        if (Config.ScoreMode == "dot")
        {
            var s = g.Node1("MatMul", [query, g.Node1("Transpose", [key], [Attr.Ints("perm", [0, 2, 1])])], name: "Scores");
            return _scale is null ? s : g.Node1("Mul", [s, Use(g, _scale)]);
        }
        var sum = g.Node1("Add", [g.Node1("Unsqueeze", [query, g.Ints(-2)]), g.Node1("Unsqueeze", [key, g.Ints(-3)])]);
        if (_scale is not null) sum = g.Node1("Mul", [sum, Use(g, _scale)]);
        var reduced = g.Node1("ReduceSum", [g.Node1("Tanh", [sum]), g.Ints(-1)], [Attr.Int("keepdims", 0)], name: "Scores");
        return g.Node1("Mul", [reduced, Use(g, _concatScoreWeight!)]);
    }
}

/// <summary>Keras's additive (Bahdanau) attention: S[i,j] = Σ_d w[d]·tanh(Q[i,d] + K[j,d]), w the learned
/// <c>scale</c> vector [d] when use_scale (glorot-uniform), else 1.</summary>
public sealed class AdditiveAttention : BaseDenseAttention
{
    private Weight? _scale;

    public AdditiveAttention(AdditiveAttentionConfig config) : base(config, config.Dropout) => Config = config;

    public AdditiveAttention(bool useScale = true, double dropout = 0, string? name = null)
        : this(new AdditiveAttentionConfig { UseScale = useScale, Dropout = dropout, Name = name }) { }

    public override AdditiveAttentionConfig Config { get; }
    protected override double DropoutRate => Config.Dropout;

    protected override void BuildScores(long dim)
    {
        if (Config.UseScale) _scale = AddWeight("scale", [dim], Specs.GlorotUniform);
    }

    protected override Value Scores(GraphBuilder g, Value query, Value key)
    {
        var t = g.Node1("Tanh", [g.Node1("Add", [g.Node1("Unsqueeze", [query, g.Ints(-2)]), g.Node1("Unsqueeze", [key, g.Ints(-3)])])]);
        if (_scale is not null) t = g.Node1("Mul", [t, Use(g, _scale)]);
        return g.Node1("ReduceSum", [t, g.Ints(-1)], [Attr.Int("keepdims", 0)], name: "Scores");
    }
}
