using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Keras GRU with gate blocks z, r, h (σ = recurrent_activation):
/// z = σ(x·W_z + h·U_z + b), r = σ(x·W_r + h·U_r + b),
/// reset_after=True (Keras 3 default, bias [2, 3·units] = [input bias; recurrent bias]):
/// ĥ = act(x·W_h + b_ih + r·(h·U_h + b_rh)); reset_after=False (bias [3·units]): ĥ = act(x·W_h + b_h + (r·h)·U_h);
/// h_t = z·h_{t−1} + (1 − z)·ĥ. Fused form: ONNX GRU (same gate order) with linear_before_reset = reset_after.</summary>
public sealed class GRU : RecurrentLayer
{
    private sealed record Prepared(Value? RecurrentBias, Value? UZR, Value? UH);

    public GRU(GRUConfig config) : base(config)
    {
        Activations.Check(config.RecurrentActivation);
        Config = config;
    }

    public GRU(int units, bool returnSequences = false, bool returnState = false, bool goBackwards = false, bool resetAfter = true, string? name = null)
        : this(new GRUConfig
        {
            Units = units, ReturnSequences = returnSequences, ReturnState = returnState, GoBackwards = goBackwards,
            ResetAfter = resetAfter, Name = name,
        }) { }

    public override GRUConfig Config { get; }
    protected override int Gates => 3;
    protected override string FusedOpType => "GRU";
    protected override long[] BiasShape => Config.ResetAfter ? [2, 3L * Units] : [3L * Units];

    protected override string[]? FusedActivations()
    {
        var f = OnnxActivation(Config.RecurrentActivation);
        var a = OnnxActivation(Config.Activation);
        return f is null || a is null ? null : [f, a];
    }

    protected override IEnumerable<global::Onnx.AttributeProto> FusedAttributes() =>
        [Attr.Int("linear_before_reset", Config.ResetAfter ? 1 : 0)];

    protected override Value FusedBias(GraphBuilder g, Value bias) =>
        Config.ResetAfter
            ? g.Node1("Reshape", [bias, g.Ints("shape", 6L * Units)])
            : g.Node1("Concat", [bias, Rnn.Zeros(g, 3L * Units)], [Attr.Int("axis", 0)]);

    protected override Value? InputBias(GraphBuilder g) =>
        Bias is null ? null : Config.ResetAfter ? g.Node1("Gather", [Use(g, Bias), g.ScalarLong(0)], [Attr.Int("axis", 0)]) : Use(g, Bias);

    protected override object? PrepareSteps(GraphBuilder g)
    {
        if (Config.ResetAfter)
            return new Prepared(Bias is null ? null : g.Node1("Gather", [Use(g, Bias), g.ScalarLong(1)], [Attr.Int("axis", 0)]), null, null);
        var parts = g.Node("Split", [Use(g, RecurrentKernel), g.Ints("split", 2L * Units, Units)], [Attr.Int("axis", 1)], 2);
        return new Prepared(null, parts[0], parts[1]);
    }

    protected override Value[] Step(GraphBuilder g, Value xt, Value? h, Value? hRec, Value? c, object? prepared)
    {
        var p = (Prepared)prepared!;
        var x = g.Node("Split", [xt], [Attr.Int("axis", 1)], 3);
        Value z, r, candidate;
        if (Config.ResetAfter)
        {
            Value? inner = hRec is null ? null : g.Node1("MatMul", [hRec, Use(g, RecurrentKernel)]);
            if (p.RecurrentBias is not null) inner = inner is null ? p.RecurrentBias : g.Node1("Add", [inner, p.RecurrentBias]);
            var rec = inner is null ? null : g.Node("Split", [inner], [Attr.Int("axis", -1)], 3);
            z = Act(g, Rnn.AddMaybe(g, x[0], rec?[0]), Config.RecurrentActivation);
            r = Act(g, Rnn.AddMaybe(g, x[1], rec?[1]), Config.RecurrentActivation);
            candidate = Act(g, Rnn.AddMaybe(g, x[2], rec is null ? null : g.Node1("Mul", [r, rec[2]])), Config.Activation);
        }
        else if (hRec is null)
        {
            z = Act(g, x[0], Config.RecurrentActivation);
            r = Act(g, x[1], Config.RecurrentActivation);
            candidate = Act(g, x[2], Config.Activation);
        }
        else
        {
            var rec = g.Node("Split", [g.Node1("MatMul", [hRec, p.UZR!])], [Attr.Int("axis", 1)], 2);
            z = Act(g, g.Node1("Add", [x[0], rec[0]]), Config.RecurrentActivation);
            r = Act(g, g.Node1("Add", [x[1], rec[1]]), Config.RecurrentActivation);
            candidate = Act(g, g.Node1("Add", [x[2], g.Node1("MatMul", [g.Node1("Mul", [r, hRec]), p.UH!])]), Config.Activation);
        }
        var keep = g.Node1("Sub", [g.Scalar(1, xt.DType, "one"), z]);
        var fresh = g.Node1("Mul", [keep, candidate]);
        return [h is null ? fresh : g.Node1("Add", [g.Node1("Mul", [z, h]), fresh])];
    }
}
