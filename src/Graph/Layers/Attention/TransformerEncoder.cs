using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;

namespace NeuralService.Graph.Layers;

/// <summary>keras-hub's <c>TransformerEncoder</c> arguments.</summary>
public sealed record TransformerEncoderConfig : LayerConfig
{
    public int IntermediateDim { get; init; }
    public int NumHeads { get; init; }
    public double Dropout { get; init; }
    public string? Activation { get; init; } = "relu";
    public double LayerNormEpsilon { get; init; } = 1e-5;
    public ObjectSpec KernelInitializer { get; init; } = Specs.GlorotUniform;
    public ObjectSpec BiasInitializer { get; init; } = Specs.Zeros;
    public ObjectSpec? KernelRegularizer { get; init; }
    public ObjectSpec? BiasRegularizer { get; init; }
    /// <summary>Applies to the block's output only (keras-hub keeps it off the sub-layers).</summary>
    public ObjectSpec? ActivityRegularizer { get; init; }
    public bool NormalizeFirst { get; init; }
}

/// <summary>keras-hub's transformer encoder block on x [B, T, d] (key_dim = d / num_heads). Post-norm (default):
/// a = LN₁(x + Drop(MHA(x, x, M))), y = LN₂(a + Drop(W₂·act(W₁·a + b₁) + b₂)). Pre-norm (normalize_first):
/// a = x + Drop(MHA(LN₁x, LN₁x, M)), y = a + Drop(FF(LN₂a)). Inputs: [x, padding_mask?, attention_mask?], the masks told
/// apart by rank (padding_mask [B, T], attention_mask [B, T, T], bool or &gt; 0.5); M = attention_mask ∧ padding_mask as
/// [B, 1, T], where the padding mask defaults to x's Keras mask (keras-hub's merge_padding_and_attention_mask). The block owns its sub-layers (self_attention_layer,
/// self_attention_layer_norm, feedforward_layer_norm, feedforward_intermediate_dense, feedforward_output_dense);
/// their weights are the block's weights, in that order.</summary>
public sealed class TransformerEncoder : Layer
{
    private MultiHeadAttention? _attention;
    private LayerNormalization? _attentionNorm;
    private LayerNormalization? _feedforwardNorm;
    private Dense? _intermediate;
    private Dense? _output;

    public TransformerEncoder(TransformerEncoderConfig config) : base(config)
    {
        if (config.IntermediateDim <= 0) throw new ArgumentException($"TransformerEncoder intermediate_dim must be positive, got {config.IntermediateDim}");
        if (config.NumHeads <= 0) throw new ArgumentException($"TransformerEncoder num_heads must be positive, got {config.NumHeads}");
        if (config.Dropout is < 0 or >= 1) throw new ArgumentException($"TransformerEncoder dropout must be in [0, 1), got {config.Dropout}");
        if (!(config.LayerNormEpsilon > 0)) throw new ArgumentException($"TransformerEncoder layer_norm_epsilon must be positive, got {config.LayerNormEpsilon}");
        Activations.Check(config.Activation);
        Config = config;
    }

    public TransformerEncoder(int intermediateDim, int numHeads, double dropout = 0, string activation = "relu", bool normalizeFirst = false, string? name = null)
        : this(new TransformerEncoderConfig { IntermediateDim = intermediateDim, NumHeads = numHeads, Dropout = dropout, Activation = activation, NormalizeFirst = normalizeFirst, Name = name }) { }

    public override TransformerEncoderConfig Config { get; }

    public IReadOnlyList<Layer> SubLayers =>
        _attention is null ? [] : [_attention, _attentionNorm!, _feedforwardNorm!, _intermediate!, _output!];

    public override IReadOnlyList<Weight> Weights => SubLayers.SelectMany(l => l.Weights).ToList();

    protected override void Build(IReadOnlyList<TensorType> inputs)
    {
        if (inputs.Count is < 1 or > 3) throw new ArgumentException($"TransformerEncoder takes [x, padding_mask?, attention_mask?], got {inputs.Count} inputs");
        foreach (var m in inputs.Skip(1))
            if (m.Shape.Rank is not (2 or 3) || inputs.Skip(1).Count(o => o.Shape.Rank == m.Shape.Rank) > 1)
                throw new ArgumentException($"TransformerEncoder masks must be one padding_mask [B, T] and/or one attention_mask [B, T, T], got {m.Shape}");
        var x = inputs[0];
        if (x.Shape.Rank != 3 || !x.Shape[-1].IsKnown) throw new ArgumentException($"TransformerEncoder needs [batch, time, dim] with a known dim, got {x.Shape}");
        var d = (int)x.Shape[-1].Known;
        var keyDim = d / Config.NumHeads;
        if (keyDim == 0) throw new ArgumentException($"hidden dim {d} is smaller than num_heads {Config.NumHeads}");
        _attention = new MultiHeadAttention(new MultiHeadAttentionConfig
        {
            Name = $"{Name}/self_attention_layer", NumHeads = Config.NumHeads, KeyDim = keyDim, Dropout = Config.Dropout,
            KernelInitializer = Config.KernelInitializer, BiasInitializer = Config.BiasInitializer, Trainable = Trainable,
            KernelRegularizer = Config.KernelRegularizer, BiasRegularizer = Config.BiasRegularizer,
        });
        _attentionNorm = new LayerNormalization(new LayerNormalizationConfig { Name = $"{Name}/self_attention_layer_norm", Epsilon = Config.LayerNormEpsilon, Trainable = Trainable });
        _feedforwardNorm = new LayerNormalization(new LayerNormalizationConfig { Name = $"{Name}/feedforward_layer_norm", Epsilon = Config.LayerNormEpsilon, Trainable = Trainable });
        _intermediate = new Dense(new DenseConfig
        {
            Name = $"{Name}/feedforward_intermediate_dense", Units = Config.IntermediateDim, Activation = Config.Activation,
            KernelInitializer = Config.KernelInitializer, BiasInitializer = Config.BiasInitializer, Trainable = Trainable,
            KernelRegularizer = Config.KernelRegularizer, BiasRegularizer = Config.BiasRegularizer,
        });
        _output = new Dense(new DenseConfig
        {
            Name = $"{Name}/feedforward_output_dense", Units = d,
            KernelInitializer = Config.KernelInitializer, BiasInitializer = Config.BiasInitializer, Trainable = Trainable,
            KernelRegularizer = Config.KernelRegularizer, BiasRegularizer = Config.BiasRegularizer,
        });
        _attention.EnsureBuilt([x, x]);
        _attentionNorm.EnsureBuilt([x]);
        _feedforwardNorm.EnsureBuilt([x]);
        _intermediate.EnsureBuilt([x]);
        _output.EnsureBuilt([new TensorType(x.DType, x.Shape.WithDim(-1, Config.IntermediateDim))]);
    }

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        if (inputs.Count is < 1 or > 3) throw new ShapeException($"TransformerEncoder takes 1 to 3 inputs, got {inputs.Count}");
        var x = inputs[0];
        var padding = inputs.Skip(1).FirstOrDefault(i => i.Rank == 2) ?? ctx.MaskOf(x);
        var attentionMask = inputs.Skip(1).FirstOrDefault(i => i.Rank == 3);
        Value? mask = padding is null ? null : g.Node1("Unsqueeze", [AttentionMath.ToBool(g, padding), g.Ints(1)], name: "PaddingMask");
        if (attentionMask is not null) mask = AttentionMath.And(g, AttentionMath.ToBool(g, attentionMask), mask);

        Value Sub(Layer layer, string scope, Value v)
        {
            using var _ = g.Scope(scope);
            return layer.Call(g, [v], ctx)[0];
        }

        var residual = x;
        var h = Config.NormalizeFirst ? Sub(_attentionNorm!, "self_attention_layer_norm", x) : x;
        using (g.Scope("self_attention_layer"))
            h = _attention!.Attend(g, h, h, null, mask, false, ctx)[0];
        h = AttentionMath.Dropout(g, h, Config.Dropout, ctx, NextSeed(ctx));
        h = g.Node1("Add", [h, residual], name: "AttentionResidual");
        if (!Config.NormalizeFirst) h = Sub(_attentionNorm!, "self_attention_layer_norm", h);

        residual = h;
        if (Config.NormalizeFirst) h = Sub(_feedforwardNorm!, "feedforward_layer_norm", h);
        h = Sub(_intermediate!, "feedforward_intermediate_dense", h);
        h = Sub(_output!, "feedforward_output_dense", h);
        h = AttentionMath.Dropout(g, h, Config.Dropout, ctx, NextSeed(ctx));
        h = g.Node1("Add", [h, residual], name: "FeedforwardResidual");
        if (!Config.NormalizeFirst) h = Sub(_feedforwardNorm!, "feedforward_layer_norm", h);
        if (padding is not null) ctx.SetMask(h, padding);
        return [h];
    }
}
