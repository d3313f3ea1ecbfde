using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Ops;

namespace NeuralService.Graph.Layers;

/// <summary>The common part of SimpleRNN, LSTM and GRU: Keras-layout weights (kernel [in, gates·units],
/// recurrent_kernel [units, gates·units], bias), and two emissions of the same recurrence over x[B, T, F]:
/// <list type="bullet">
/// <item>fused: ONNX's RNN/LSTM/GRU op (time-major, gates reordered and kernels transposed by ops on the weight values,
/// so trained weights flow through); used in inference without a mask when the activations are expressible;</item>
/// <item>Scan: the cell (MatMul/Add/Mul/Sub/activations/Split) as the body of one ONNX Scan over the time axis, the
/// input projection x·kernel done once outside; open sequence lengths, graph size independent of the length, and
/// differentiated by the Scan gradient (a reverse Scan). Used in training, with a Keras mask (state carried through
/// masked steps by Where), or when the activations have no fused form;</item>
/// <item>decomposed: the same cell unrolled over a known number of steps (only when asked for by <see cref="Form"/>).</item>
/// </list>
/// With a mask, inference uses the Scan form too rather than the fused op's sequence_lens: that only expresses
/// right padding, while Keras masks may have holes and also hold the state through masked steps at the start.
/// <c>unroll</c> and <c>implementation</c> do not change the numbers and are only kept in the config.
/// Extra inputs after x are the initial states (h, and c for LSTM), as Keras's <c>initial_state</c>.
/// Outputs: the last output or the whole sequence, then the final states when <c>return_state</c>.</summary>
public abstract class RecurrentLayer : Layer
{
    private readonly RecurrentConfig _config;

    protected RecurrentLayer(RecurrentConfig config) : base(config)
    {
        if (config.Units <= 0) throw new ArgumentException($"{GetType().Name} units must be positive, got {config.Units}");
        if (config.Dropout is < 0 or >= 1) throw new ArgumentException($"{GetType().Name} dropout must be in [0, 1), got {config.Dropout}");
        if (config.RecurrentDropout is < 0 or >= 1)
            throw new ArgumentException($"{GetType().Name} recurrent_dropout must be in [0, 1), got {config.RecurrentDropout}");
        Activations.Check(config.Activation);
        _config = config;
    }

    /// <summary>Which emission to use; <see cref="RecurrentForm.Auto"/> picks as described on the class.</summary>
    public RecurrentForm Form { get; set; } = RecurrentForm.Auto;

    /// <summary>With go_backwards and return_sequences: return the sequence in input time order (Bidirectional's
    /// backward half) rather than Keras's processing order. A Scan then simply writes its outputs in reverse.</summary>
    internal bool AlignedOutput { get; set; }

    public int Units => _config.Units;
    public bool ReturnSequences => _config.ReturnSequences;
    public bool ReturnState => _config.ReturnState;
    public bool GoBackwards => _config.GoBackwards;
    public bool TimeMajor => _config.TimeMajor == true;

    /// <summary>Gate blocks in the kernels: 1 (SimpleRNN), 4 (LSTM, i f c o), 3 (GRU, z r h).</summary>
    protected abstract int Gates { get; }
    /// <summary>States carried between steps: 1 (h) or 2 (h, c).</summary>
    public virtual int StateCount => 1;
    protected abstract string FusedOpType { get; }
    protected abstract long[] BiasShape { get; }

    /// <summary>stateful=True: the carried states (h, and c for LSTM) [batch, units], zeros until the first batch. They
    /// are not among <see cref="Layer.Weights"/> (Keras does not count or save them either); each call reads them as
    /// its initial state and reports the final state as their update, in training and inference alike.</summary>
    public IReadOnlyList<Weight> CarriedStates { get; private set; } = [];

    /// <summary>Sets the carried states back to zeros (Keras's <c>reset_states</c>).</summary>
    public void ResetStates()
    {
        foreach (var w in CarriedStates) w.Assign(new float[w.Size]);
    }

    protected Weight Kernel { get; private set; } = null!;
    protected Weight RecurrentKernel { get; private set; } = null!;
    protected Weight? Bias { get; private set; }

    protected override void Build(IReadOnlyList<TensorType> inputs)
    {
        if (inputs.Count != 1 && inputs.Count != 1 + StateCount)
            throw new ArgumentException($"{ClassName} takes the sequence and optionally {StateCount} initial state(s), got {inputs.Count} inputs");
        var x = inputs[0].Shape;
        if (x.Rank != 3) throw new ArgumentException($"{ClassName} needs a 3-D input [batch, time, features], got {x}");
        var features = x[-1];
        if (!features.IsKnown) throw new ArgumentException($"the feature dim must be known, got {x}");
        if (_config.Stateful)
        {
            var batch = x[0];
            if (!batch.IsKnown)
                throw new ArgumentException($"{ClassName} '{Name}': stateful=True needs a fixed batch size (batch_shape / batch_input_shape), got input {x}");
            CarriedStates = Enumerable.Range(0, StateCount)
                .Select(k => new Weight(this, k == 0 ? "state_h" : "state_c", [batch.Known, Units], new float[batch.Known * Units], trainable: false))
                .ToList();
        }
        var width = Gates * (long)Units;
        Kernel = AddWeight("kernel", [features.Known, width], _config.KernelInitializer,
            regularizer: _config.KernelRegularizer, constraint: _config.KernelConstraint);
        RecurrentKernel = AddWeight("recurrent_kernel", [Units, width], _config.RecurrentInitializer,
            regularizer: _config.RecurrentRegularizer, constraint: _config.RecurrentConstraint);
        if (_config.UseBias)
        {
            Bias = AddWeight("bias", BiasShape, _config.BiasInitializer, regularizer: _config.BiasRegularizer, constraint: _config.BiasConstraint);
            AdjustInitialBias(Bias);
        }
    }

    /// <summary>Hook for LSTM's unit_forget_bias.</summary>
    protected virtual void AdjustInitialBias(Weight bias) { }

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        if (inputs.Count != 1 && inputs.Count != 1 + StateCount)
            throw new ShapeException($"{ClassName} takes the sequence and optionally {StateCount} initial state(s), got {inputs.Count} inputs");
        var input = inputs[0];
        if (input.Rank != 3) throw new ShapeException($"{ClassName} needs a 3-D input [batch, time, features], got {input.Shape}");
        var x = TimeMajor ? Rnn.Transpose(g, input, 1, 0, 2) : input;
        var keptMask = ctx.MaskOf(input);
        var mask = keptMask;
        var initial = inputs.Skip(1).ToList();
        if (initial.Count == 0 && CarriedStates.Count > 0) initial = CarriedStates.Select(w => Use(g, w)).ToList();
        var fusedOk = FusedActivations() is not null;
        var dropping = ctx.Training && (_config.Dropout > 0 || _config.RecurrentDropout > 0);
        RecurrentForm form;
        switch (Form)
        {
            case RecurrentForm.Decomposed:
            case RecurrentForm.Scan:
                form = Form;
                break;
            case RecurrentForm.Fused:
                if (!fusedOk) throw new ShapeException($"{ClassName} '{Name}': the fused ONNX op cannot express these activations");
                if (mask is not null) throw new ShapeException($"{ClassName} '{Name}': the fused form does not take a Keras mask");
                if (dropping) throw new ShapeException($"{ClassName} '{Name}': the fused form has no dropout");
                form = RecurrentForm.Fused;
                break;
            default:
                form = ctx.Training || mask is not null || !fusedOk ? RecurrentForm.Scan : RecurrentForm.Fused;
                break;
        }
        Value? sequence;
        IReadOnlyList<Value> states;
        if (form == RecurrentForm.Scan)
            (sequence, states) = EmitScan(g, x, mask, initial, ctx);
        else
        {
            if (GoBackwards)
            {
                x = Rnn.Reverse(g, x, 1);
                if (mask is not null) mask = Rnn.Reverse(g, mask, 1);
            }
            (sequence, states) = form == RecurrentForm.Decomposed ? EmitDecomposed(g, x, mask, initial, ctx) : EmitFused(g, x, initial);
            if (sequence is not null && GoBackwards && AlignedOutput) sequence = Rnn.Reverse(g, sequence, 1);
        }
        for (var k = 0; k < CarriedStates.Count; k++) ctx.StateUpdates.Add(new StateUpdate(CarriedStates[k], states[k]));
        var output = ReturnSequences ? sequence! : states[0];
        if (ReturnSequences && TimeMajor) output = Rnn.Transpose(g, output, 1, 0, 2);
        if (ReturnSequences && keptMask is not null) ctx.SetMask(output, keptMask);
        return ReturnState ? [output, .. states] : [output];
    }

    // ---- fused form ----

    /// <summary>The ONNX activation names (f, g, h order of the op) for the Keras activations, or null when one is not expressible.</summary>
    protected abstract string[]? FusedActivations();

    protected static string? OnnxActivation(string? keras) => Activations.Normalize(keras) switch
    {
        "tanh" => "Tanh",
        "sigmoid" => "Sigmoid",
        "relu" => "Relu",
        "hard_sigmoid" => "HardSigmoid",
        _ => null,
    };

    /// <summary>Keras gate blocks in ONNX's order (identity except for LSTM: Keras i f c o → ONNX i o f c).</summary>
    protected virtual int[] OnnxGateOrder => Enumerable.Range(0, Gates).ToArray();

    /// <summary>ONNX's B = [Wb, Rb] as a 1-D [2·gates·units] value made from the Keras bias.</summary>
    protected virtual Value FusedBias(GraphBuilder g, Value bias)
    {
        var reordered = ReorderGates(g, bias, 0);
        return g.Node1("Concat", [reordered, Rnn.Zeros(g, Gates * Units)], [Attr.Int("axis", 0)]);
    }

    protected virtual IEnumerable<global::Onnx.AttributeProto> FusedAttributes() => [];

    /// <summary>Splits <paramref name="v"/> into gate blocks on <paramref name="axis"/> and concatenates them in ONNX's order.</summary>
    protected Value ReorderGates(GraphBuilder g, Value v, int axis)
    {
        var order = OnnxGateOrder;
        if (order.SequenceEqual(Enumerable.Range(0, Gates))) return v;
        var parts = g.Node("Split", [v], [Attr.Int("axis", axis)], Gates);
        return g.Node1("Concat", order.Select(k => parts[k]).ToList(), [Attr.Int("axis", axis)]);
    }

    private (Value? Sequence, IReadOnlyList<Value> States) EmitFused(GraphBuilder g, Value x, IReadOnlyList<Value> initial)
    {
        var xt = Rnn.Transpose(g, x, 1, 0, 2);
        // Keras [in, gates·units] → ONNX [1, gates·units, in].
        Value OnnxKernel(Weight w) => Rnn.Unsqueeze(g, Rnn.Transpose(g, ReorderGates(g, Use(g, w), 1), 1, 0), 0);
        var w = OnnxKernel(Kernel);
        var r = OnnxKernel(RecurrentKernel);
        var b = Bias is null ? null : Rnn.Unsqueeze(g, FusedBias(g, Use(g, Bias)), 0);
        var ins = new List<Value?> { xt, w, r, b, null };
        ins.AddRange(initial.Select(s => Rnn.Unsqueeze(g, s, 0)));
        var attrs = new List<global::Onnx.AttributeProto>
        {
            Attr.Int("hidden_size", Units),
            Attr.String("direction", "forward"),
            Attr.Strings("activations", FusedActivations()!),
        };
        var activations = FusedActivations()!;
        if (activations.Contains("HardSigmoid"))
        {
            // Keras 3's hard_sigmoid is relu6(x + 3)/6 = clip(x/6 + 1/2); ONNX runtimes take one alpha/beta per
            // activation that uses them, in order.
            var users = activations.Count(a => a == "HardSigmoid");
            attrs.Add(Attr.Floats("activation_alpha", Enumerable.Repeat(1f / 6, users)));
            attrs.Add(Attr.Floats("activation_beta", Enumerable.Repeat(0.5f, users)));
        }
        attrs.AddRange(FusedAttributes());
        var outs = g.Node(FusedOpType, ins, attrs, 1 + StateCount, name: FusedOpType);
        Value? sequence = null;
        if (ReturnSequences) sequence = Rnn.Transpose(g, Rnn.Squeeze(g, outs[0], 1), 1, 0, 2);
        var states = outs.Skip(1).Select(s => Rnn.Squeeze(g, s, 0)).ToList();
        return (sequence, states);
    }

    // ---- Scan form ----

    /// <summary>The recurrence as one ONNX Scan over the time axis: x·kernel + bias for all steps at once outside, only
    /// the recurrence inside the body; the mask (bool [B, T]) is a second scan input, dropout masks are drawn once
    /// outside and read by the body. Graph size does not depend on the length, which may be open.</summary>
    private (Value? Sequence, IReadOnlyList<Value> States) EmitScan(GraphBuilder g, Value x, Value? mask,
        IReadOnlyList<Value> initial, CallContext ctx)
    {
        // Weights are registered in the enclosing graph under the layer's scope (the body only reads them), so they
        // keep the names they have in the inference graph.
        Use(g, RecurrentKernel);
        if (Bias is not null) Use(g, Bias);
        var (projected, recurrentKeep) = Project(g, x, ctx);
        var prepared = PrepareSteps(g);
        var states = new List<Value>();
        for (var s = 0; s < StateCount; s++)
            states.Add(s < initial.Count ? initial[s] : ZeroState(g, x));
        var sequences = new List<ScanInput> { new(projected, 1, GoBackwards) };
        if (mask is not null) sequences.Add(new ScanInput(mask, 1, GoBackwards));
        IReadOnlyList<ScanOutput> outputs = ReturnSequences ? [new ScanOutput(1, GoBackwards && AlignedOutput)] : [];
        var results = ControlFlow.Scan(g, states, sequences, outputs, (bg, st, xs) =>
        {
            var h = st[0];
            var c = st.Count > 1 ? st[1] : null;
            var hRec = recurrentKeep is null ? h : bg.Node1("Mul", [h, recurrentKeep]);
            var next = Step(bg, xs[0], h, hRec, c, prepared);
            var output = next[0];
            if (mask is not null)
            {
                var m = Rnn.Unsqueeze(bg, xs[1], 1);
                var raw = next[0];
                next[0] = bg.Node1("Where", [m, raw, h], name: "Masked");
                if (next.Length > 1) next[1] = bg.Node1("Where", [m, next[1], c!], name: "Masked");
                output = _config.ZeroOutputForMask ? bg.Node1("Where", [m, raw, bg.Scalar(0, x.DType, "zero")], name: "Masked") : next[0];
            }
            return new ScanStep(next, ReturnSequences ? [output] : []);
        }, name: "Scan");
        return (ReturnSequences ? results[StateCount] : null, results.Take(StateCount).ToList());
    }

    /// <summary>Zeros [B, units] for a batch known only at run time.</summary>
    private Value ZeroState(GraphBuilder g, Value x)
    {
        var batch = g.Node1("Shape", [x], [Attr.Int("start", 0), Attr.Int("end", 1)]);
        var dims = g.Node1("Concat", [batch, g.Ints(Units)], [Attr.Int("axis", 0)]);
        var zeros = g.Node1("ConstantOfShape", [dims], [Attr.Tensor("value", Autodiff.Emit.ZeroTensor(x.DType))], name: "zero_state");
        return g.Declare(zeros.Name, zeros.DType, Shape.Of(x.Shape[0], Units));
    }

    /// <summary>Input dropout applied to x, x·kernel + input bias over the whole sequence, and the recurrent dropout
    /// mask (or null), both drawn once per sequence as Keras does.</summary>
    private (Value Projected, Value? RecurrentKeep) Project(GraphBuilder g, Value x, CallContext ctx)
    {
        if (ctx.Training && _config.Dropout > 0)
        {
            var first = g.Node1("Gather", [x, g.ScalarLong(0)], [Attr.Int("axis", 1)]);
            var keep = DropoutMask(g, g.Node1("Shape", [first]), _config.Dropout, ctx);
            x = g.Node1("Mul", [x, Rnn.Unsqueeze(g, keep, 1)]);
        }
        Value? recurrentKeep = null;
        if (ctx.Training && _config.RecurrentDropout > 0)
        {
            var batch = g.Node1("Shape", [x], [Attr.Int("start", 0), Attr.Int("end", 1)]);
            var dims = g.Node1("Concat", [batch, g.Ints(Units)], [Attr.Int("axis", 0)]);
            recurrentKeep = DropoutMask(g, dims, _config.RecurrentDropout, ctx);
        }
        var projected = g.Node1("MatMul", [x, Use(g, Kernel)]);
        if (InputBias(g) is { } inBias) projected = g.Node1("Add", [projected, inBias]);
        return (projected, recurrentKeep);
    }

    // ---- decomposed form ----

    /// <summary>The input bias added to x·kernel for all gates at once, or null.</summary>
    protected virtual Value? InputBias(GraphBuilder g) => Bias is null ? null : Use(g, Bias);

    /// <summary>Prepares per-layer values used by every step (split kernels, recurrent bias).</summary>
    protected virtual object? PrepareSteps(GraphBuilder g) => null;

    /// <summary>One step: <paramref name="xt"/> = x_t·kernel + input bias [B, gates·units]; states null mean zeros
    /// (the first step without initial state, which needs no zero tensor of dynamic batch size).
    /// <paramref name="hRec"/> is h after recurrent dropout, used where Keras multiplies by the recurrent kernel.</summary>
    protected abstract Value[] Step(GraphBuilder g, Value xt, Value? h, Value? hRec, Value? c, object? prepared);

    private (Value? Sequence, IReadOnlyList<Value> States) EmitDecomposed(GraphBuilder g, Value x, Value? mask,
        IReadOnlyList<Value> initial, CallContext ctx)
    {
        var time = x.Shape[1];
        if (!time.IsKnown)
            throw new ShapeException($"{ClassName} '{Name}': the unrolled (training or masked) form needs a known sequence length, got input {x.Shape}");
        var steps = time.Known;
        var (projected, recurrentKeep) = Project(g, x, ctx);
        var prepared = PrepareSteps(g);
        Value? h = initial.Count > 0 ? initial[0] : null;
        Value? c = initial.Count > 1 ? initial[1] : null;
        var outputs = new List<Value>();
        Value? zero = null;
        for (var t = 0L; t < steps; t++)
        {
            var index = g.ScalarLong(t, "t");
            var xt = g.Node1("Gather", [projected, index], [Attr.Int("axis", 1)]);
            var hRec = h is not null && recurrentKeep is not null ? g.Node1("Mul", [h, recurrentKeep]) : h;
            var next = Step(g, xt, h, hRec, c, prepared);
            var output = next[0];
            if (mask is not null)
            {
                zero ??= g.Scalar(0, x.DType, "zero");
                var m = Rnn.Unsqueeze(g, g.Node1("Gather", [mask, index], [Attr.Int("axis", 1)]), 1);
                var raw = next[0];
                next[0] = g.Node1("Where", [m, raw, h ?? zero], name: "Masked");
                if (next.Length > 1) next[1] = g.Node1("Where", [m, next[1], c ?? zero], name: "Masked");
                output = _config.ZeroOutputForMask ? g.Node1("Where", [m, raw, zero], name: "Masked") : next[0];
            }
            h = next[0];
            c = next.Length > 1 ? next[1] : null;
            if (ReturnSequences) outputs.Add(Rnn.Unsqueeze(g, output, 1));
        }
        if (h is null) throw new ShapeException($"{ClassName} '{Name}': the input has no time steps ({x.Shape})");
        var sequence = ReturnSequences ? outputs.Count == 1 ? outputs[0] : g.Node1("Concat", outputs, [Attr.Int("axis", 1)]) : null;
        return (sequence, c is null ? [h] : [h, c]);
    }

    /// <summary>Keras's dropout mask of <paramref name="dims"/>: 1/(1−rate) where a uniform draw is ≥ rate, else 0,
    /// drawn once per sequence and shared by all steps. (A Dropout node over a tensor of ones was dropped by ONNX
    /// Runtime's graph optimizations, leaving no dropout at all in the optimized train step.)</summary>
    private Value DropoutMask(GraphBuilder g, Value dims, double rate, CallContext ctx)
    {
        var ones = g.Node1("ConstantOfShape", [dims], [Attr.Tensor("value", Tensors.Create("one", [1f], 1))]);
        var seed = _config.Seed is { } s ? s + NextSeed(ctx) : NextSeed(ctx);
        var u = g.Node1("RandomUniformLike", [ones], [Attr.Float("seed", seed)]);
        var keep = g.Node1("Cast", [g.Node1("GreaterOrEqual", [u, g.Scalar(rate, ones.DType, "rate")])], [Attr.Int("to", (long)ones.DType)]);
        return g.Node1("Mul", [keep, g.Scalar(1 / (1 - rate), ones.DType, "scale")], name: "DropoutMask");
    }

    /// <summary>Applies a Keras activation to a step value.</summary>
    protected static Value Act(GraphBuilder g, Value v, string? activation) => Activations.Apply(g, v, activation);
}

/// <summary>Small graph helpers for the recurrent layers.</summary>
internal static class Rnn
{
    public static Value Transpose(GraphBuilder g, Value v, params long[] perm) => g.Node1("Transpose", [v], [Attr.Ints("perm", perm)]);
    public static Value Unsqueeze(GraphBuilder g, Value v, long axis) => g.Node1("Unsqueeze", [v, g.Ints("axes", axis)]);
    public static Value Squeeze(GraphBuilder g, Value v, long axis) => g.Node1("Squeeze", [v, g.Ints("axes", axis)]);
    public static Value Zeros(GraphBuilder g, long n) => g.Constant(new float[n], [n], "zeros");

    /// <summary>x reversed along <paramref name="axis"/> (a Slice with step −1).</summary>
    public static Value Reverse(GraphBuilder g, Value v, long axis) =>
        g.Node1("Slice", [v, g.Ints("starts", -1), g.Ints("ends", long.MinValue), g.Ints("axes", axis), g.Ints("steps", -1)], name: "Reverse");

    /// <summary>a + b where a null b means zero (b may be null).</summary>
    public static Value AddMaybe(GraphBuilder g, Value a, Value? b) => b is null ? a : g.Node1("Add", [a, b]);
}
