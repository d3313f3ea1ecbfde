using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Arguments of <see cref="MambaBlock"/> (not a Keras built-in; names follow the Mamba reference code).</summary>
public sealed record MambaBlockConfig : LayerConfig
{
    /// <summary>N, the state size per inner channel.</summary>
    public int DState { get; init; } = 16;
    /// <summary>Width of the causal depthwise convolution.</summary>
    public int DConv { get; init; } = 4;
    /// <summary>E = expand·d_model inner channels.</summary>
    public int Expand { get; init; } = 2;
    /// <summary>R, the rank of the Δ projection (null = ⌈d_model/16⌉).</summary>
    public int? DtRank { get; init; }
    public double DtMin { get; init; } = 0.001;
    public double DtMax { get; init; } = 0.1;
    /// <summary>The whole sequence [B, L, d] (default, as a block) or only the last step [B, d].</summary>
    public bool ReturnSequences { get; init; } = true;
}

/// <summary>Mamba block (selective state space) on u [B, L, d], L statically known, E = expand·d:
/// [x, z] = u·W_in; x' = SiLU(causal depthwise Conv1D_k(x) + b_conv); [δ, B_t, C_t] = x'·W_x (sizes R, N, N);
/// Δ_t = softplus(δ·W_dt + b_dt) [E]; A = −exp(A_log) [E, N];
/// h_t = exp(Δ_t ⊙ A) ⊙ h_{t−1} + (Δ_t ⊙ x'_t) ⊗ B_t (h_{−1} = 0), y_t = h_t·C_t + D ⊙ x'_t;
/// out = (y ⊙ SiLU(z))·W_out. The selective scan is unrolled over L with Gather/Mul/Add/Concat (all differentiable).
/// Weights: in_proj/kernel [d, 2E], conv1d/kernel [E, 1, k] (ONNX depthwise layout), conv1d/bias [E],
/// x_proj/kernel [E, R+2N], dt_proj/kernel [R, E], dt_proj/bias [E] (softplus⁻¹ of log-uniform Δ in [dt_min, dt_max]),
/// A_log [E, N] (= log(1..N)), D [E], out_proj/kernel [E, d].</summary>
public sealed class MambaBlock : UnaryLayer
{
    private Weight? _inProj, _convKernel, _convBias, _xProj, _dtKernel, _dtBias, _aLog, _d, _outProj;

    public MambaBlock(MambaBlockConfig config) : base(config)
    {
        if (config.DState <= 0) throw new ArgumentException($"MambaBlock d_state must be positive, got {config.DState}");
        if (config.DConv <= 0) throw new ArgumentException($"MambaBlock d_conv must be positive, got {config.DConv}");
        if (config.Expand <= 0) throw new ArgumentException($"MambaBlock expand must be positive, got {config.Expand}");
        if (config.DtRank is <= 0) throw new ArgumentException($"MambaBlock dt_rank must be positive, got {config.DtRank}");
        if (!(config.DtMin > 0) || !(config.DtMax >= config.DtMin))
            throw new ArgumentException($"MambaBlock needs 0 < dt_min <= dt_max, got dt_min={config.DtMin}, dt_max={config.DtMax}");
        Config = config;
    }

    public MambaBlock(int dState = 16, int dConv = 4, int expand = 2, bool returnSequences = true, string? name = null)
        : this(new MambaBlockConfig { DState = dState, DConv = dConv, Expand = expand, ReturnSequences = returnSequences, Name = name }) { }

    public override MambaBlockConfig Config { get; }
    public int InnerDim { get; private set; }
    public int DtRank { get; private set; }

    protected override void Build(TensorType input)
    {
        var s = input.Shape;
        if (s.Rank != 3 || !s[1].IsKnown || !s[2].IsKnown) throw new ArgumentException($"MambaBlock needs [batch, time, channels] with known time and channels, got {s}");
        var d = s[2].Known;
        var e = Config.Expand * d;
        var (n, k) = ((long)Config.DState, (long)Config.DConv);
        var r = Config.DtRank ?? (int)Math.Ceiling(d / 16.0);
        (InnerDim, DtRank) = ((int)e, r);
        _inProj = AddWeight("in_proj/kernel", [d, 2 * e], Specs.GlorotUniform);
        _convKernel = AddWeight("conv1d/kernel", [e, 1, k], Specs.GlorotUniform, fans: (k, k));
        _convBias = AddWeight("conv1d/bias", [e], Specs.Zeros);
        _xProj = AddWeight("x_proj/kernel", [e, r + 2 * n], Specs.GlorotUniform);
        _dtKernel = AddWeight("dt_proj/kernel", [r, e], Specs.GlorotUniform);
        _dtBias = AddWeight("dt_proj/bias", [e], Specs.Zeros);
        var rng = new Random(StableHash.Of(Name + "/dt_proj/bias"));
        _dtBias.Assign(Enumerable.Range(0, (int)e).Select(_ =>
        {
            var dt = Math.Exp(Math.Log(Config.DtMin) + rng.NextDouble() * (Math.Log(Config.DtMax) - Math.Log(Config.DtMin)));
            return (float)(dt + Math.Log(1 - Math.Exp(-dt)));   // softplus⁻¹(dt)
        }).ToArray());
        _aLog = AddWeight("A_log", [e, n], Specs.Zeros);
        _aLog.Assign(Enumerable.Range(0, (int)(e * n)).Select(i => (float)Math.Log(i % n + 1)).ToArray());
        _d = AddWeight("D", [e], Specs.Ones);
        _outProj = AddWeight("out_proj/kernel", [e, d], Specs.GlorotUniform);
    }

    protected override Value Call(GraphBuilder g, Value u, CallContext ctx)
    {
        var (l, e, n, k) = (u.Shape[1].Known, (long)InnerDim, (long)Config.DState, (long)Config.DConv);
        var xz = g.Node(
            "Split", [g.Node1("MatMul", [u, Use(g, _inProj!)], name: "InProj"), g.Ints(e, e)], [Attr.Int("axis", -1)], 2);
        var (x, z) = (xz[0], xz[1]);
        var conv = g.Node1("Conv", [g.Node1("Transpose", [x], [Attr.Ints("perm", [0, 2, 1])]), Use(g, _convKernel!), Use(g, _convBias!)],
            [Attr.Int("group", e), Attr.Ints("pads", [k - 1, 0]), Attr.Ints("kernel_shape", [k])], name: "CausalConv");
        var xc = Activations.Apply(g, g.Node1("Transpose", [conv], [Attr.Ints("perm", [0, 2, 1])]), "silu");      // [B, L, E]
        var dbc = g.Node(
            "Split", [g.Node1("MatMul", [xc, Use(g, _xProj!)], name: "XProj"), g.Ints(DtRank, n, n)], [Attr.Int("axis", -1)], 3);
        var delta = g.Node1("Softplus", [g.Node1("Add", [g.Node1("MatMul", [dbc[0], Use(g, _dtKernel!)]), Use(g, _dtBias!)])], name: "Delta");
        var a = g.Node1("Neg", [g.Node1("Exp", [Use(g, _aLog!)])], name: "A");                                // [E, N]
        var dA = g.Node1("Exp", [g.Node1("Mul", [g.Node1("Unsqueeze", [delta, g.Ints(-1)]), a])], name: "DeltaA"); // [B, L, E, N]
        var dBx = g.Node1("Mul", [g.Node1("Unsqueeze", [g.Node1("Mul", [delta, xc]), g.Ints(-1)]),
            g.Node1("Unsqueeze", [dbc[1], g.Ints(2)])], name: "DeltaBx");                                      // [B, L, E, N]
        var states = new List<Value>();
        Value? h = null;
        for (var t = 0L; t < l; t++)
        {
            var index = g.ScalarLong(t, "t");
            var input = g.Node1("Gather", [dBx, index], [Attr.Int("axis", 1)]);
            h = h is null ? input : g.Node1("Add", [g.Node1("Mul", [g.Node1("Gather", [dA, index], [Attr.Int("axis", 1)]), h]), input], name: "Scan");
            states.Add(g.Node1("Unsqueeze", [h, g.Ints(1)]));
        }
        var hs = states.Count == 1 ? states[0] : g.Node1("Concat", states, [Attr.Int("axis", 1)], name: "States");   // [B, L, E, N]
        var y = g.Node1("ReduceSum", [g.Node1("Mul", [hs, g.Node1("Unsqueeze", [dbc[2], g.Ints(2)])]), g.Ints(-1)], [Attr.Int("keepdims", 0)]);
        y = g.Node1("Add", [y, g.Node1("Mul", [xc, Use(g, _d!)])]);
        y = g.Node1("Mul", [y, Activations.Apply(g, z, "silu")], name: "Gate");
        var output = g.Node1("MatMul", [y, Use(g, _outProj!)], name: "OutProj");
        return Config.ReturnSequences ? output : g.Node1("Gather", [output, g.ScalarLong(l - 1)], [Attr.Int("axis", 1)], name: "LastStep");
    }
}
