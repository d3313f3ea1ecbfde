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

    /// <summary>With Keras's default activations all four gates take one Sigmoid over [B, 4·units]: the candidate block
    /// is scaled by 2 before and mapped by 2σ − 1 after (tanh(x) = 2σ(2x) − 1). A Scan body then runs 4 elementwise
    /// nodes instead of 4 activations on slices, and its gradient one Sigmoid rule instead of four.</summary>
    private sealed record GateScale(Value Scale, Value Offset);

    protected override object? PrepareSteps(GraphBuilder g)
    {
        if (Activations.Normalize(Config.RecurrentActivation) != "sigmoid" || Activations.Normalize(Config.Activation) != "tanh") return null;
        var scale = new float[4 * Units];
        Array.Fill(scale, 1f);
        Array.Fill(scale, 2f, 2 * Units, Units);
        return new GateScale(g.Constant(scale, [4L * Units], "gate_scale"), g.Constant(scale.Select(v => v - 1).ToArray(), [4L * Units], "gate_offset"));
    }

    protected override Value[] Step(GraphBuilder g, Value xt, Value? h, Value? hRec, Value? c, object? prepared)
    {
        var z = hRec is null ? xt : g.Node1("Add", [xt, g.Node1("MatMul", [hRec, Use(g, RecurrentKernel)])]);
        Value i, f, candidate, o;
        if (prepared is GateScale s)
        {
            var y = g.Node1("Sigmoid", [g.Node1("Mul", [z, s.Scale])]);
            var gates = g.Node("Split", [g.Node1("Sub", [g.Node1("Mul", [y, s.Scale]), s.Offset])], [Onnx.Attr.Int("axis", 1)], 4);
            (i, f, candidate, o) = (gates[0], gates[1], gates[2], gates[3]);
        }
        else
        {
            var gates = g.Node("Split", [z], [Onnx.Attr.Int("axis", 1)], 4);
            i = Act(g, gates[0], Config.RecurrentActivation);
            f = Act(g, gates[1], Config.RecurrentActivation);
            candidate = Act(g, gates[2], Config.Activation);
            o = Act(g, gates[3], Config.RecurrentActivation);
        }
        var ic = g.Node1("Mul", [i, candidate]);
        var cNext = c is null ? ic : g.Node1("Add", [g.Node1("Mul", [f, c]), ic]);
        var hNext = g.Node1("Mul", [o, Act(g, cNext, Config.Activation)]);
        return [hNext, cNext];
    }
}
