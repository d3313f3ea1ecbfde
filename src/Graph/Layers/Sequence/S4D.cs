using System.Text.Json.Nodes;
using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Arguments of <see cref="S4D"/> (not a Keras built-in; named in Keras's style).</summary>
public sealed record S4DConfig : LayerConfig
{
    /// <summary>N, the size of each channel's diagonal state.</summary>
    public int StateDim { get; init; } = 64;
    /// <summary>Like Keras's RNN layers: the whole sequence [B, L, H] or only the last step [B, H].</summary>
    public bool ReturnSequences { get; init; }
    /// <summary>Range of the initial step sizes Δ (log-uniform).</summary>
    public double DtMin { get; init; } = 0.001;
    public double DtMax { get; init; } = 0.1;
}

/// <summary>S4D-style diagonal state-space layer with a real diagonal A, one independent SSM per input channel h of
/// u [B, L, H] (d_model = H). Weights: log_dt [H], log_a [H, N], b [H, N], c [H, N], d [H]. With Δ = exp(log_dt),
/// A = −exp(log_a) (always stable) and zero-order hold Ā = exp(Δ·A), B̄ = (Ā − 1)/A · B, the recurrence
/// x_t = Ā ⊙ x_{t−1} + B̄·u_t, y_t = C·x_t + D·u_t (x_{−1} = 0) equals the causal convolution
/// y_t = Σ_{k=0..t} K_k·u_{t−k} + D·u_t with kernel K_k = Σ_n C_n·B̄_n·Ā_n^k, Ā^k = exp(k·Δ·A).
/// The kernel is materialised over the (statically known) length L and applied as a depthwise Conv with L−1 left
/// pads; everything is ordinary differentiable ops (Exp, Mul, Div, ReduceSum, Conv).</summary>
public sealed class S4D : UnaryLayer
{
    private Weight? _logDt, _logA, _b, _c, _d;

    public S4D(S4DConfig config) : base(config)
    {
        if (config.StateDim <= 0) throw new ArgumentException($"S4D state_dim must be positive, got {config.StateDim}");
        if (!(config.DtMin > 0) || !(config.DtMax >= config.DtMin))
            throw new ArgumentException($"S4D needs 0 < dt_min <= dt_max, got dt_min={config.DtMin}, dt_max={config.DtMax}");
        Config = config;
    }

    public S4D(int stateDim = 64, bool returnSequences = false, string? name = null)
        : this(new S4DConfig { StateDim = stateDim, ReturnSequences = returnSequences, Name = name }) { }

    public override S4DConfig Config { get; }

    protected override void Build(TensorType input)
    {
        var s = input.Shape;
        if (s.Rank != 3 || !s[1].IsKnown || !s[2].IsKnown) throw new ArgumentException($"S4D needs [batch, time, channels] with known time and channels, got {s}");
        var (h, n) = (s[2].Known, (long)Config.StateDim);
        _logDt = AddWeight("log_dt", [h], new ObjectSpec("RandomUniform", new JsonObject { ["minval"] = Math.Log(Config.DtMin), ["maxval"] = Math.Log(Config.DtMax) }));
        _logA = AddWeight("log_a", [h, n], Specs.Zeros);
        // S4D-Real initialisation: A_n = −(n + 1).
        _logA.Assign(Enumerable.Range(0, (int)(h * n)).Select(i => (float)Math.Log(i % n + 1)).ToArray());
        _b = AddWeight("b", [h, n], Specs.Ones);
        _c = AddWeight("c", [h, n], new ObjectSpec("RandomNormal", new JsonObject { ["stddev"] = 1 / Math.Sqrt(n) }));
        _d = AddWeight("d", [h], Specs.Ones);
    }

    protected override Value Call(GraphBuilder g, Value u, CallContext ctx)
    {
        var (l, h) = (u.Shape[1].Known, u.Shape[2].Known);
        var dt = g.Node1("Exp", [g.Node1("Unsqueeze", [Use(g, _logDt!), g.Ints(1)])], name: "Delta");      // [H, 1]
        var a = g.Node1("Neg", [g.Node1("Exp", [Use(g, _logA!)])], name: "A");                           // [H, N]
        var dtA = g.Node1("Mul", [dt, a]);
        var aBar = g.Node1("Exp", [dtA], name: "ABar");
        var bBar = g.Node1("Mul", [g.Node1("Div", [g.Node1("Sub", [aBar, g.Scalar(1, u.DType)]), a]), Use(g, _b!)], name: "BBar");
        var cb = g.Node1("Unsqueeze", [g.Node1("Mul", [Use(g, _c!), bBar]), g.Ints(-1)]);                  // [H, N, 1]
        // The conv correlates, so tap j carries power L−1−j: the kernel comes out already flipped.
        var powers = g.Constant(Enumerable.Range(0, (int)l).Select(j => (float)(l - 1 - j)).ToArray(), [1, 1, l], "powers");
        var aPow = g.Node1("Exp", [g.Node1("Mul", [g.Node1("Unsqueeze", [dtA, g.Ints(-1)]), powers])], name: "APowers"); // [H, N, L]
        var kernel = g.Node1("ReduceSum", [g.Node1("Mul", [cb, aPow]), g.Ints(1)], [Attr.Int("keepdims", 1)], name: "Kernel"); // [H, 1, L]
        var ut = g.Node1("Transpose", [u], [Attr.Ints("perm", [0, 2, 1])]);
        var conv = g.Node1("Conv", [ut, kernel], [Attr.Int("group", h), Attr.Ints("pads", [l - 1, 0]), Attr.Ints("kernel_shape", [l])]);
        var y = g.Node1("Add", [g.Node1("Transpose", [conv], [Attr.Ints("perm", [0, 2, 1])]), g.Node1("Mul", [u, Use(g, _d!)])]);
        return Config.ReturnSequences ? y : g.Node1("Gather", [y, g.ScalarLong(l - 1)], [Attr.Int("axis", 1)], name: "LastStep");
    }
}
