using NeuralService.Graph.Core;

namespace NeuralService.Graph.Layers;

/// <summary>Keras LSTM. With z = x_t·W + h_{t−1}·U + b split into gate blocks i, f, c, o (Keras's order):
/// i = σ(z_i), f = σ(z_f), c_t = f·c_{t−1} + i·act(z_c), o = σ(z_o), h_t = o·act(c_t)
/// (σ = recurrent_activation). W [in, 4·units], U [units, 4·units], b [4·units]; unit_forget_bias starts b_f at 1.
/// Fused form: ONNX LSTM, whose gate order is i, o, f, c and whose activations are (f, g, h) = (σ, act, act).</summary>
public sealed class LSTM : RecurrentLayer
{
    public LSTM(LSTMConfig config) : base(config)
    {
        Activations.Check(config.RecurrentActivation);
        Config = config;
    }

    public LSTM(int units, bool returnSequences = false, bool returnState = false, bool goBackwards = false, string? name = null)
        : this(new LSTMConfig { Units = units, ReturnSequences = returnSequences, ReturnState = returnState, GoBackwards = goBackwards, Name = name }) { }

    public override LSTMConfig Config { get; }
    protected override int Gates => 4;
    public override int StateCount => 2;
    protected override string FusedOpType => "LSTM";
    protected override long[] BiasShape => [4L * Units];
    protected override int[] OnnxGateOrder => [0, 3, 1, 2];

    protected override void AdjustInitialBias(Weight bias)
    {
        if (!Config.UnitForgetBias) return;
        var data = (float[])bias.Data.Clone();
        Array.Fill(data, 1f, Units, Units);
        bias.Assign(data);
    }

    protected override string[]? FusedActivations()
    {
        var f = OnnxActivation(Config.RecurrentActivation);
        var a = OnnxActivation(Config.Activation);
        return f is null || a is null ? null : [f, a, a];
    }

    protected override Value[] Step(GraphBuilder g, Value xt, Value? h, Value? hRec, Value? c, object? prepared)
    {
        var z = hRec is null ? xt : g.Node1("Add", [xt, g.Node1("MatMul", [hRec, Use(g, RecurrentKernel)])]);
        var gates = g.Node("Split", [z], [Onnx.Attr.Int("axis", 1)], 4);
        var i = Act(g, gates[0], Config.RecurrentActivation);
        var f = Act(g, gates[1], Config.RecurrentActivation);
        var candidate = Act(g, gates[2], Config.Activation);
        var o = Act(g, gates[3], Config.RecurrentActivation);
        var ic = g.Node1("Mul", [i, candidate]);
        var cNext = c is null ? ic : g.Node1("Add", [g.Node1("Mul", [f, c]), ic]);
        var hNext = g.Node1("Mul", [o, Act(g, cNext, Config.Activation)]);
        return [hNext, cNext];
    }
}
