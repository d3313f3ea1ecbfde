using System.Runtime.CompilerServices;
using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using Onnx;

namespace NeuralService.Graph.Ops;

/// <summary>ONNX Scan (opset 17): states s (N inputs) and scan inputs x (M = num_scan_inputs) → final states and
/// stacked per-step outputs; the subgraph <c>body</c> maps (s, x_t) → (s', y_t) and may read values of the enclosing
/// graph (e.g. a recurrent kernel). Gradient: a reverse Scan over the autodiff of the body —
/// dsₜ, dxₜ, dcₜ = VJP(body at sₜ, xₜ; ds_{t+1}, dyₜ); dc = Σₜ dcₜ for each enclosing value c the body reads.</summary>
public sealed class ScanOp : Op
{
    public override string Type => "Scan";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var body = ctx.Node.GetGraph("body") ?? throw ctx.Error("the 'body' graph attribute is required");
        var m = (int)ctx.Node.GetInt("num_scan_inputs", -1);
        if (m < 1 || m > ctx.InputCount) throw ctx.Error($"num_scan_inputs must be in [1, {ctx.InputCount}], got {m}");
        var n = ctx.InputCount - m;
        if (body.Input.Count != n + m) throw ctx.Error($"the body takes {body.Input.Count} inputs, the node has {n} states and {m} scan inputs");
        if (body.Output.Count < n) throw ctx.Error($"the body gives {body.Output.Count} outputs, fewer than its {n} states");
        var k = body.Output.Count - n;
        var inAxes = ScanAttributes.Axes(ctx.Node, "scan_input_axes", m);
        var outAxes = ScanAttributes.Axes(ctx.Node, "scan_output_axes", k);
        var first = ctx.Input(n);
        var length = first.Shape[(int)Normalize(inAxes[0], first.Shape.Rank, ctx)];
        for (var i = 1; i < m; i++)
        {
            var x = ctx.Input(n + i);
            var d = x.Shape[(int)Normalize(inAxes[i], x.Shape.Rank, ctx)];
            if (length.IsKnown && d.IsKnown && d.Known != length.Known)
                throw ctx.Error($"scan input {i} has {d} steps, scan input 0 has {length}");
            if (!length.IsKnown && d.IsKnown) length = d;
        }
        var result = new List<TensorType>(n + k);
        for (var i = 0; i < n; i++) result.Add(ctx.Input(i));
        for (var j = 0; j < k; j++)
        {
            var t = OnnxModels.TypeOf(body.Output[n + j]) ?? throw ctx.Error($"body output {n + j} has no tensor type");
            var axis = (int)Normalize(outAxes[j], t.Shape.Rank + 1, ctx);
            var dims = t.Shape.Dims.ToList();
            dims.Insert(axis, length);
            result.Add(new TensorType(t.DType, new Shape(dims)));
        }
        return result;
    }

    private static long Normalize(long axis, int rank, InferenceContext ctx) =>
        axis >= -rank && axis < rank ? (axis + rank) % rank : throw ctx.Error($"scan axis {axis} is out of range for rank {rank}");

    /// <summary>The reverse Scan (see the class comment). Its body recomputes the forward step from the saved input
    /// states (which the forward Scan is made to emit as extra per-step outputs, so memory stays linear in the length)
    /// and differentiates it with <see cref="Gradients.Build(GraphBuilder, IReadOnlyList{ValueTuple{Value, Value}}, IReadOnlyList{Value}, GradientOptions?, string?)"/>.</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext ctx)
    {
        var node = ctx.Node;
        var g = ctx.Graph;
        var body = node.GetGraph("body")!;
        var m = (int)node.GetInt("num_scan_inputs", 0);
        var nExplicit = node.Input.Count;
        var n = nExplicit - m;
        var saved = ScanSavedStates.Ensure(g, node, n);
        var k = body.Output.Count - n - saved.Count;
        var captured = Enumerable.Range(nExplicit, ctx.Inputs.Count - nExplicit).ToList();
        var inDirs = ScanAttributes.Axes(node, "scan_input_directions", m);
        var inAxes = ScanAttributes.Axes(node, "scan_input_axes", m);
        var outDirs = ScanAttributes.Axes(node, "scan_output_directions", k + saved.Count);
        var outAxes = ScanAttributes.Axes(node, "scan_output_axes", k + saved.Count);

        var floatStates = Enumerable.Range(0, n).Where(s => DataTypes.IsFloat(ctx.X(s).DType)).ToList();
        var needX = Enumerable.Range(0, m).Where(i => ctx.Needs(n + i) && DataTypes.IsFloat(ctx.X(n + i).DType)).ToList();
        var needC = captured.Where(c => ctx.Needs(c) && DataTypes.IsFloat(ctx.X(c).DType)).ToList();
        var withDy = Enumerable.Range(0, k).Where(j => n + j < ctx.OutputGradients.Count && ctx.OutputGradients[n + j] is not null).ToList();

        // Weights the body only multiplies by: their gradient Σₜ aₜᵀ·dzₜ is one MatMul outside over all steps.
        var outsideProducts = ctx.Options.ScanWeightGradientOutside
            ? MatMulOnlyWeights(body, needC.Select(c => ctx.X(c)).Where(w => w.Rank == 2 && w.Shape.IsFullyKnown).Select(w => w.Name).ToHashSet())
            : [];
        var accumulated = needC.Where(c => outsideProducts.All(p => p.Weight != ctx.X(c).Name)).ToList();

        var bg = g.Subgraph();
        var dState = floatStates.ToDictionary(s => s, s => bg.AddInput(bg.UniqueName($"d_state{s}"), ctx.X(s).DType, ctx.X(s).Shape));
        var acc = accumulated.ToDictionary(c => c, c => bg.AddInput(bg.UniqueName("d_" + ShortName(ctx.X(c).Name)), ctx.X(c).DType, ctx.X(c).Shape));
        var savedIn = Enumerable.Range(0, n).Select(s => bg.AddInput(bg.UniqueName($"state{s}"), ctx.X(s).DType, ctx.X(s).Shape)).ToList();
        var xIn = Enumerable.Range(0, m).Select(i => bg.AddInput(bg.UniqueName($"x{i}"), ctx.X(n + i).DType,
            Without(ctx.X(n + i).Shape, inAxes[i]))).ToList();
        var dyIn = withDy.ToDictionary(j => j, j =>
        {
            var dy = ctx.OutputGradients[n + j]!;
            return bg.AddInput(bg.UniqueName($"dy{j}"), dy.DType, Without(dy.Shape, outAxes[j]));
        });

        // Recompute the step: the forward body's nodes read the saved state and this step's inputs.
        var rename = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var s = 0; s < n; s++) rename[body.Input[s].Name] = savedIn[s].Name;
        for (var i = 0; i < m; i++) rename[body.Input[n + i].Name] = xIn[i].Name;
        foreach (var original in body.Node)
        {
            var copy = original.Clone();
            copy.Name = ShortName(original.Name);
            for (var i = 0; i < copy.Input.Count; i++)
                if (rename.TryGetValue(copy.Input[i], out var r)) copy.Input[i] = r;
            foreach (var sub in copy.Attribute.Where(a => a.G is not null)) RenameReads(sub.G, rename);
            for (var o = 0; o < copy.Output.Count; o++)
            {
                if (copy.Output[o].Length == 0) continue;
                var fresh = bg.UniqueName(ShortName(copy.Output[o]));
                rename[copy.Output[o]] = fresh;
                copy.Output[o] = fresh;
            }
            bg.Append(copy);
        }
        Value BodyOutput(int i) => bg[rename.GetValueOrDefault(body.Output[i].Name, body.Output[i].Name)];

        var products = outsideProducts.Select(p => (p.Weight, A: bg[rename.GetValueOrDefault(p.A, p.A)], Z: bg[rename[p.Z]])).ToList();

        var seeds = new List<(Value, Value)>();
        foreach (var s in floatStates) seeds.Add((BodyOutput(s), dState[s]));
        foreach (var j in withDy) seeds.Add((BodyOutput(n + j), dyIn[j]));
        var wrt = floatStates.Select(s => savedIn[s]).Concat(needX.Select(i => xIn[i])).Concat(accumulated.Select(c => ctx.X(c)))
            .Concat(products.Select(p => p.Z)).DistinctBy(v => v.Name).ToList();
        IReadOnlyDictionary<string, Value> grads;
        try
        {
            grads = Gradients.Build(bg, seeds, wrt, ctx.Options);
        }
        catch (GraphException e)
        {
            throw new GraphException($"{node.Describe()} (gradient of its body): {e.Message}");
        }
        foreach (var s in floatStates) bg.AddOutput(grads[savedIn[s].Name]);
        foreach (var c in accumulated) bg.AddOutput(bg.Add(acc[c], grads[ctx.X(c).Name]));
        foreach (var i in needX) bg.AddOutput(grads[xIn[i].Name]);
        foreach (var p in products)
        {
            bg.AddOutput(p.A);
            bg.AddOutput(grads[p.Z.Name]);
        }

        var inputs = new List<Value?>();
        inputs.AddRange(floatStates.Select(s => ctx.OutputGradients.ElementAtOrDefault(s) ?? g.ZerosLike(ctx.Y(s))));
        inputs.AddRange(accumulated.Select(c => g.ZerosLike(ctx.X(c))));
        inputs.AddRange(saved);
        inputs.AddRange(Enumerable.Range(0, m).Select(i => ctx.X(n + i)));
        inputs.AddRange(withDy.Select(j => ctx.OutputGradients[n + j]));
        var gradBody = bg.ToGraph(g.UniqueName("grad_body").Replace('/', '_'));
        LoopInvariants.Hoist(g, gradBody);
        var attrs = new List<AttributeProto>
        {
            Attr.Graph("body", gradBody),
            Attr.Int("num_scan_inputs", n + m + withDy.Count),
            Attr.Ints("scan_input_directions", Enumerable.Repeat(1L, n).Concat(inDirs.Select(d => 1 - d)).Concat(withDy.Select(j => 1 - outDirs[j]))),
            Attr.Ints("scan_input_axes", Enumerable.Repeat(0L, n).Concat(inAxes).Concat(withDy.Select(j => outAxes[j]))),
        };
        if (needX.Count > 0)
        {
            attrs.Add(Attr.Ints("scan_output_directions", needX.Select(i => 1 - inDirs[i]).Concat(new long[2 * products.Count])));
            attrs.Add(Attr.Ints("scan_output_axes", needX.Select(i => inAxes[i]).Concat(new long[2 * products.Count])));
        }
        var outs = g.Node("Scan", inputs, attrs, floatStates.Count + accumulated.Count + needX.Count + 2 * products.Count, name: "ScanGrad");

        // Each result is declared with its input's own shape: the engine then does not mistake a dim unknown on both
        // sides (an open sequence length) for a broadcast to undo.
        Value Exact(Value v, Value like) => g.Declare(v.Name, v.DType, like.Shape);
        var result = new Value?[ctx.Inputs.Count];
        var o2 = 0;
        foreach (var s in floatStates) { var v = outs[o2++]; if (ctx.Needs(s)) result[s] = Exact(v, ctx.X(s)); }
        foreach (var c in accumulated) result[c] = Exact(outs[o2++], ctx.X(c));
        foreach (var i in needX) result[n + i] = Exact(outs[o2++], ctx.X(n + i));
        var sums = new Dictionary<string, List<Value>>(StringComparer.Ordinal);
        foreach (var p in products)
        {
            // [T, …, K] and [T, …, N] → [T·…, K]ᵀ·[T·…, N] = Σₜ aₜᵀ·dzₜ.
            var (a, dz) = (outs[o2++], outs[o2++]);
            var w = g[p.Weight];
            var a2 = g.Reshape(a, -1, w.Shape[0].Known);
            var dz2 = g.Reshape(dz, -1, w.Shape[1].Known);
            var product = g.Node1("Gemm", [a2, dz2], [Attr.Int("transA", 1)], name: "WeightGradient");
            if (!sums.TryGetValue(p.Weight, out var list)) sums[p.Weight] = list = [];
            list.Add(product);
        }
        foreach (var c in needC.Where(c => sums.ContainsKey(ctx.X(c).Name)))
        {
            var list = sums[ctx.X(c).Name];
            result[c] = Exact(list.Count == 1 ? list[0] : g.Node1("Sum", list), ctx.X(c));
        }
        return result;
    }

    /// <summary>The products z = a·W of the forward body whose W is one of <paramref name="weights"/> (enclosing values of
    /// rank 2) that the body reads only as the right operand of MatMuls whose left operand is not itself a weight.</summary>
    private static List<(string Weight, string A, string Z)> MatMulOnlyWeights(GraphProto body, HashSet<string> weights)
    {
        var result = new List<(string Weight, string A, string Z)>();
        var rejected = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in body.Node)
        {
            var reads = GraphBuilder.ReadNames(node).Where(weights.Contains).ToList();
            if (reads.Count == 0) continue;
            var ok = node.OpType == "MatMul" && node.Input.Count == 2 && !weights.Contains(node.Input[0])
                && reads.All(r => r == node.Input[1]) && node.Attribute.All(a => a.G is null);
            if (ok) result.Add((node.Input[1], node.Input[0], node.Output[0]));
            else rejected.UnionWith(reads);
        }
        result.RemoveAll(p => rejected.Contains(p.Weight));
        return result;
    }

    private static Shape Without(Shape shape, long axis)
    {
        var a = (int)(axis < 0 ? axis + shape.Rank : axis);
        return new Shape(shape.Dims.Where((_, i) => i != a));
    }

    private static string ShortName(string name) => name[(name.LastIndexOf('/') + 1)..];

    private static void RenameReads(GraphProto sub, IReadOnlyDictionary<string, string> rename)
    {
        foreach (var nd in sub.Node)
        {
            for (var i = 0; i < nd.Input.Count; i++)
                if (rename.TryGetValue(nd.Input[i], out var r)) nd.Input[i] = r;
            foreach (var a in nd.Attribute.Where(a => a.G is not null)) RenameReads(a.G, rename);
        }
        foreach (var o in sub.Output)
            if (rename.TryGetValue(o.Name, out var r)) o.Name = r;
    }
}

/// <summary>Moves the nodes of a loop body that read only enclosing values (e.g. a transposed weight in a gradient
/// body) out of the loop, so that they run once rather than every step.</summary>
internal static class LoopInvariants
{
    private static readonly HashSet<string> Random = ["Dropout", "RandomUniform", "RandomNormal", "RandomUniformLike", "RandomNormalLike", "Bernoulli", "Multinomial"];

    public static void Hoist(GraphBuilder outer, GraphProto body)
    {
        var local = body.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        var outputs = body.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var moved = new List<NodeProto>();
        foreach (var node in body.Node)
        {
            var invariant = !Random.Contains(node.OpType) && node.Attribute.All(a => a.G is null)
                && GraphBuilder.ReadNames(node).All(r => r.Length == 0 || !local.Contains(r)) && !node.Output.Any(outputs.Contains);
            if (invariant) moved.Add(node);
            else local.UnionWith(node.Output);
        }
        if (moved.Count == 0) return;
        foreach (var node in moved)
        {
            body.Node.Remove(node);
            outer.Append(node.Clone());
        }
        var gone = moved.SelectMany(n => n.Output).ToHashSet(StringComparer.Ordinal);
        foreach (var v in body.ValueInfo.Where(v => gone.Contains(v.Name)).ToList()) body.ValueInfo.Remove(v);
    }
}

internal static class ScanAttributes
{
    /// <summary>A per-input/output ints attribute (axes, directions), zeros when absent.</summary>
    public static long[] Axes(NodeProto node, string name, int count)
    {
        var v = node.GetInts(name);
        if (v is null) return new long[count];
        if (v.Length < count) return [.. v, .. new long[count - v.Length]];
        return v[..count];
    }
}

/// <summary>The forward Scan's per-step input states, which its gradient reads: the body is given extra outputs
/// (the states it received) and the node extra stacked outputs, once per node.</summary>
internal static class ScanSavedStates
{
    private static readonly ConditionalWeakTable<NodeProto, List<Value>> Known = new();

    public static IReadOnlyList<Value> Ensure(GraphBuilder g, NodeProto node, int n)
    {
        if (Known.TryGetValue(node, out var known)) return known;
        var body = node.GetGraph("body")!;
        var m = (int)node.GetInt("num_scan_inputs", 0);
        var k = body.Output.Count - n;
        var inAxes = ScanAttributes.Axes(node, "scan_input_axes", m);
        var first = g[node.Input[n]];
        var length = first.Shape[(int)(inAxes[0] < 0 ? inAxes[0] + first.Rank : inAxes[0])];
        // Directions and axes written out in full, so that the new outputs can be listed after the old ones.
        var outDirs = ScanAttributes.Axes(node, "scan_output_directions", k);
        var outAxes = ScanAttributes.Axes(node, "scan_output_axes", k);
        var saved = new List<Value>();
        for (var s = 0; s < n; s++)
        {
            var input = body.Input[s];
            var bodyOut = g.UniqueName("saved_state");
            var identity = new NodeProto { OpType = "Identity", Name = bodyOut };
            identity.Input.Add(input.Name);
            identity.Output.Add(bodyOut);
            body.Node.Add(identity);
            var info = input.Clone();
            info.Name = bodyOut;
            body.Output.Add(info);
            var type = g[node.Input[s]];
            var outer = g.UniqueName(node.Name + "/saved_state");
            node.Output.Add(outer);
            saved.Add(g.Declare(outer, type.DType, type.Shape.Prepend(length)));
        }
        SetInts(node, "scan_output_directions", outDirs.Concat(new long[n]));
        SetInts(node, "scan_output_axes", outAxes.Concat(new long[n]));
        Known.Add(node, saved);
        return saved;
    }

    private static void SetInts(NodeProto node, string name, IEnumerable<long> values)
    {
        var existing = node.Attribute.FirstOrDefault(a => a.Name == name);
        if (existing is not null) node.Attribute.Remove(existing);
        node.Attribute.Add(Attr.Ints(name, values));
    }
}

/// <summary>One sequence a <see cref="ControlFlow.Scan"/> iterates over: along <paramref name="Axis"/>, from its end
/// when <paramref name="Reverse"/>.</summary>
public sealed record ScanInput(Value Sequence, long Axis = 0, bool Reverse = false);

/// <summary>Where a per-step output is stacked: on <paramref name="Axis"/>, last step first when <paramref name="Reverse"/>.</summary>
public sealed record ScanOutput(long Axis = 0, bool Reverse = false);

/// <summary>What a Scan body returns: the next states (as many as it received) and this step's outputs.</summary>
public sealed record ScanStep(IReadOnlyList<Value> States, IReadOnlyList<Value> Outputs);

/// <summary>Builds control-flow nodes whose bodies are written with the ordinary <see cref="GraphBuilder"/> API.</summary>
public static class ControlFlow
{
    /// <summary>A Scan node: <paramref name="body"/> gets a subgraph builder, the current states and this step's slices
    /// of <paramref name="sequences"/>; it may read any value of <paramref name="g"/> (weights, dropout masks).
    /// Returns the final states, then the stacked outputs (one per <paramref name="outputs"/> entry).</summary>
    public static IReadOnlyList<Value> Scan(GraphBuilder g, IReadOnlyList<Value> states, IReadOnlyList<ScanInput> sequences,
        IReadOnlyList<ScanOutput> outputs, Func<GraphBuilder, IReadOnlyList<Value>, IReadOnlyList<Value>, ScanStep> body, string name = "Scan")
    {
        if (sequences.Count == 0) throw new GraphException("a Scan needs at least one sequence to iterate over");
        var bg = g.Subgraph();
        IReadOnlyList<Value> stateIn, xIn;
        ScanStep step;
        using (bg.Scope(name))
        {
            stateIn = states.Select((s, i) => bg.AddInput(bg.UniqueName($"state{i}"), s.DType, s.Shape)).ToList();
            xIn = sequences.Select((x, i) => bg.AddInput(bg.UniqueName($"x{i}"), x.Sequence.DType, Without(x.Sequence.Shape, x.Axis))).ToList();
            step = body(bg, stateIn, xIn);
            if (step.States.Count != states.Count)
                throw new GraphException($"Scan '{name}': the body returned {step.States.Count} states for {states.Count}");
            if (step.Outputs.Count != outputs.Count)
                throw new GraphException($"Scan '{name}': the body returned {step.Outputs.Count} outputs, {outputs.Count} declared");
            for (var i = 0; i < states.Count; i++)
                if (step.States[i].DType != states[i].DType)
                    throw new GraphException($"Scan '{name}': state {i} is {states[i].DType} but the body returns {step.States[i].DType}");
            foreach (var v in step.States.Concat(step.Outputs)) bg.AddOutput(v);
        }
        var graph = bg.ToGraph(g.UniqueName(name + "_body").Replace('/', '_'));
        LoopInvariants.Hoist(g, graph);
        var attrs = new List<AttributeProto>
        {
            Attr.Graph("body", graph),
            Attr.Int("num_scan_inputs", sequences.Count),
        };
        if (sequences.Any(s => s.Reverse)) attrs.Add(Attr.Ints("scan_input_directions", sequences.Select(s => s.Reverse ? 1L : 0L)));
        if (sequences.Any(s => s.Axis != 0)) attrs.Add(Attr.Ints("scan_input_axes", sequences.Select(s => s.Axis)));
        if (outputs.Any(o => o.Reverse)) attrs.Add(Attr.Ints("scan_output_directions", outputs.Select(o => o.Reverse ? 1L : 0L)));
        if (outputs.Any(o => o.Axis != 0)) attrs.Add(Attr.Ints("scan_output_axes", outputs.Select(o => o.Axis)));
        return g.Node("Scan", [.. states, .. sequences.Select(s => s.Sequence)], attrs, states.Count + outputs.Count, name);
    }

    private static Shape Without(Shape shape, long axis)
    {
        var a = (int)(axis < 0 ? axis + shape.Rank : axis);
        return new Shape(shape.Dims.Where((_, i) => i != a));
    }
}
