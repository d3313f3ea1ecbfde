using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Training;

/// <summary>One optimizer state tensor of a training graph: read from <see cref="Input"/>, its next value written to
/// <see cref="Output"/>. <see cref="Parameter"/> is null for a global slot (a scalar).</summary>
public sealed record OptimizerStateTensor(string Input, string Output, string? Parameter, string Slot, long[] Shape, double Initial, Value InputValue, Value NewValue);

/// <summary>The update part of a training graph.</summary>
public sealed record OptimizerUpdate(IReadOnlyList<Value> NewParameters, IReadOnlyList<OptimizerStateTensor> State);

/// <summary>Emits an optimizer's update ops: clipping, weight decay, global slots, then each parameter's update.</summary>
public static class OptimizerGraph
{
    /// <summary>The suffix of an output that carries the next value of the input of the same name (ping-pong buffers
    /// forbid an output aliasing its input).</summary>
    public const string NewSuffix = ".new";

    public static string NewName(string input) => input + NewSuffix;

    /// <summary>Optimizers by Keras name (case-insensitive), with Keras defaults.</summary>
    public static OptimizerSpec Get(string? name) => name?.ToLowerInvariant() switch
    {
        "sgd" => new Sgd(),
        "adam" => new Adam(),
        "adamw" => new AdamW(),
        "rmsprop" => new RmsProp(),
        "adagrad" => new Adagrad(),
        "adadelta" => new Adadelta(),
        "adamax" => new Adamax(),
        "nadam" => new Nadam(),
        _ => throw new ArgumentException($"{(name is null ? "no optimizer given" : $"unknown optimizer '{name}'")} (sgd, adam, adamw, rmsprop, adagrad, adadelta, adamax, nadam)"),
    };

    /// <summary>Adds the float scalar learning-rate input and the int64 scalar iteration-count input.</summary>
    public static (Value LearningRate, Value Step) AddStepInputs(GraphBuilder g, string lrName = "lr", string stepName = "step") =>
        (g.AddInput(lrName, DataType.Float, Shape.Scalar), g.AddInput(stepName, DataType.Int64, Shape.Scalar));

    /// <summary>Emits the update of <paramref name="parameters"/> given their <paramref name="gradients"/>. Each state
    /// slot becomes a graph input named <c>{optimizer}/{parameter}/{slot}</c>; <paramref name="step"/> is Keras's
    /// <c>iterations</c> (steps already applied, 0 at first). Outputs are left to the caller.</summary>
    public static OptimizerUpdate Emit(GraphBuilder g, OptimizerSpec spec, IReadOnlyList<Value> parameters, IReadOnlyList<Value> gradients,
        Value learningRate, Value step)
    {
        spec.Validate();
        if (parameters.Count != gradients.Count)
            throw new ArgumentException($"{parameters.Count} parameters but {gradients.Count} gradients");
        for (var i = 0; i < parameters.Count; i++)
            if (parameters[i].DType != DataType.Float || !parameters[i].Shape.IsFullyKnown)
                throw new ShapeException($"optimizer: parameter '{parameters[i].Name}' must be float32 with a known shape, got {parameters[i].Type}");
        var prefix = spec.Name.ToLowerInvariant();
        var state = new List<OptimizerStateTensor>();
        var newParams = new List<Value>();
        using var _ = g.Scope(prefix);
        var ctx = new UpdateContext(g, g.Cast(learningRate, DataType.Float), g.Cast(step, DataType.Float));
        var grads = Clip(g, spec, gradients);

        var globalsIn = spec.GlobalSlots.Select(s => g.AddInput($"{prefix}/{s.Name}", DataType.Float, Shape.Scalar)).ToList();
        var globalsNew = spec.UpdateGlobals(ctx, globalsIn);
        ctx.Globals = globalsNew;
        for (var k = 0; k < globalsIn.Count; k++)
            state.Add(new OptimizerStateTensor(globalsIn[k].Name, NewName(globalsIn[k].Name), null, spec.GlobalSlots[k].Name, [],
                spec.GlobalSlots[k].Initial, globalsIn[k], globalsNew[k]));

        var slotsIn = parameters.Select(p => spec.Slots.Select(s => g.AddInput($"{prefix}/{p.Name}/{s.Name}", DataType.Float, p.Shape)).ToList()).ToList();
        var updates = new (Value Param, IReadOnlyList<Value> Slots)[parameters.Count];
        var fused = Enumerable.Range(0, parameters.Count).Where(i => parameters[i].Shape.ElementCount <= FuseUpTo).ToList();
        if (fused.Count < 2) fused.Clear();
        foreach (var i in Enumerable.Range(0, parameters.Count).Except(fused))
            updates[i] = spec.Update(ctx, Decayed(g, spec, ctx, parameters[i]), g.Cast(grads[i], DataType.Float), slotsIn[i]);
        if (fused.Count > 0) UpdateFused(g, spec, ctx, fused, parameters, grads, slotsIn, updates);

        for (var i = 0; i < parameters.Count; i++)
        {
            var p = parameters[i];
            var (newP, newSlots) = updates[i];
            newParams.Add(newP);
            for (var k = 0; k < newSlots.Count; k++)
                state.Add(new OptimizerStateTensor(slotsIn[i][k].Name, NewName(slotsIn[i][k].Name), p.Name, spec.Slots[k].Name, p.Shape.ToArray(),
                    spec.Slots[k].Initial, slotsIn[i][k], newSlots[k]));
        }
        return new OptimizerUpdate(newParams, state);
    }

    /// <summary>Parameters of at most this many elements are updated together, as one flat vector.</summary>
    public const long FuseUpTo = 1 << 16;

    /// <summary>Every optimizer's update is elementwise, so the small parameters' updates run once over their
    /// concatenation and are split back: ~12 ops in all instead of ~12 per parameter, each a kernel launch whose cost
    /// dwarfs the work on a bias (bench train-step --profile: Adam was 160 of the seed CNN's 313 nodes). Large tensors
    /// keep their own ops, where concatenating would only add copies.</summary>
    private static void UpdateFused(GraphBuilder g, OptimizerSpec spec, UpdateContext ctx, IReadOnlyList<int> members,
        IReadOnlyList<Value> parameters, IReadOnlyList<Value> grads, IReadOnlyList<List<Value>> slots, (Value, IReadOnlyList<Value>)[] updates)
    {
        Value Flat(Func<int, Value> part) => g.Concat(members.Select(i => g.Reshape(part(i), -1)).ToList(), 0);
        var sizes = members.Select(i => parameters[i].Shape.ElementCount!.Value).ToArray();
        IReadOnlyList<Value> Unflat(Value flat)
        {
            var parts = g.Node("Split", [flat, g.Ints("split", sizes)], [Attr.Int("axis", 0)], outputs: members.Count);
            return members.Select((i, j) => g.Reshape(parts[j], parameters[i].Shape.ToArray())).ToList();
        }
        var (newP, newSlots) = spec.Update(ctx, Decayed(g, spec, ctx, Flat(i => parameters[i])), Flat(i => g.Cast(grads[i], DataType.Float)),
            Enumerable.Range(0, spec.Slots.Count).Select(k => Flat(i => slots[i][k])).ToList());
        var paramParts = Unflat(newP);
        var slotParts = newSlots.Select(Unflat).ToList();
        for (var j = 0; j < members.Count; j++)
            updates[members[j]] = (paramParts[j], slotParts.Select(parts => parts[j]).ToList());
    }

    /// <summary>Decoupled weight decay: p − p·wd·lr.</summary>
    private static Value Decayed(GraphBuilder g, OptimizerSpec spec, UpdateContext ctx, Value p) =>
        spec.WeightDecay is { } wd && wd != 0 ? g.Sub(p, g.Mul(p, g.Mul(g.F(wd, "weight_decay"), ctx.LearningRate))) : p;

    /// <summary>Keras's gradient clipping: per-tensor norm, global norm, or elementwise value.</summary>
    private static IReadOnlyList<Value> Clip(GraphBuilder g, OptimizerSpec spec, IReadOnlyList<Value> grads)
    {
        if (spec.ClipValue is { } cv)
            return grads.Select(x => g.Clip(x, -cv, cv)).ToList();
        if (spec.ClipNorm is { } cn)
            return grads.Select(x =>
            {
                var c = g.F(cn, "clipnorm");
                return g.Div(g.Mul(x, c), g.Max(g.Sqrt(g.SumAll(g.Square(x))), c));
            }).ToList();
        if (spec.GlobalClipNorm is { } gn && grads.Count > 0)
        {
            Value sum = g.SumAll(g.Square(grads[0]));
            foreach (var x in grads.Skip(1)) sum = g.Add(sum, g.SumAll(g.Square(x)));
            var norm = g.Sqrt(sum);
            // c·min(1/‖G‖, 1/c): a zero global norm gives 1/0 = ∞ and so a scale of exactly 1.
            var scale = g.Mul(g.F(gn, "global_clipnorm"), g.Min(g.Node1("Reciprocal", [norm]), g.F(1 / gn)));
            return grads.Select(x => g.Mul(x, scale)).ToList();
        }
        return grads;
    }
}
