using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Ops;

namespace NeuralService.Graph.Autodiff;

/// <summary>Reverse-mode autodiff over a <see cref="GraphBuilder"/>'s nodes, emitting standard ONNX ops (domain "", opset 17).</summary>
public static class Gradients
{
    /// <summary>Appends to g the gradient of the scalar <paramref name="loss"/> with respect to each value in
    /// <paramref name="wrt"/> (initializers or inputs of g); returns wrt[i].Name → gradient Value (same shape as wrt[i];
    /// a zero tensor constant when loss does not depend on it).</summary>
    public static IReadOnlyDictionary<string, Value> Build(GraphBuilder g, Value loss, IReadOnlyList<Value> wrt) =>
        Build(g, loss, wrt, GradientOptions.Default);

    /// <summary><see cref="Build(GraphBuilder, Value, IReadOnlyList{Value})"/> with a choice of decompositions.</summary>
    public static IReadOnlyDictionary<string, Value> Build(GraphBuilder g, Value loss, IReadOnlyList<Value> wrt, GradientOptions options)
    {
        if (loss.Shape.ElementCount is { } n && n != 1)
            throw new GraphException($"loss '{loss.Name}' must be a scalar, its shape is {loss.Shape}");
        Value seed;
        using (g.Scope("grad"))
            seed = g.Node1("ConstantOfShape", [g.Ints("shape", loss.Shape.Dims.Select(_ => 1L).ToArray())],
                [Attr.Tensor("value", OneTensor(loss.DType))], name: "seed");
        return Build(g, [(loss, seed)], wrt, options, "grad");
    }

    /// <summary>Vector-Jacobian products: appends to g Σ_k seed_kᵀ·∂output_k/∂wrt[i] for each wrt[i] (initializers,
    /// inputs or node outputs of g, or values of enclosing graphs when g is a subgraph); returns wrt[i].Name → gradient
    /// (same shape as wrt[i]; zeros when no output depends on it). Each seed has its output's shape. This is how a
    /// control-flow gradient differentiates its body: the seeds are the gradients reaching the body's outputs.</summary>
    public static IReadOnlyDictionary<string, Value> Build(GraphBuilder g, IReadOnlyList<(Value Output, Value Seed)> seeds,
        IReadOnlyList<Value> wrt, GradientOptions? options = null, string? scope = null)
    {
        options ??= GradientOptions.Default;
        var nodes = g.Nodes.ToList();
        // Each node's inputs as the autodiff sees them: the explicit ones, then the names its subgraphs read from
        // enclosing scopes (a Scan body's weights), which carry gradients like any input.
        var nodeInputs = nodes.Select(nd => (IReadOnlyList<string>)[.. nd.Input, .. GraphBuilder.ImplicitInputs(nd)]).ToList();

        // Values that depend on some wrt through differentiable nodes, carrying floating-point data.
        var fromWrt = wrt.Select(w => w.Name).ToHashSet(StringComparer.Ordinal);
        var onPath = new bool[nodes.Count];
        for (var i = 0; i < nodes.Count; i++)
        {
            var node = nodes[i];
            if (!nodeInputs[i].Any(fromWrt.Contains)) continue;
            var op = OpRegistry.Get(node.OpType, node.Name);
            if (!op.Differentiable) continue;
            onPath[i] = true;
            foreach (var o in node.Output)
                if (o.Length > 0 && g.Contains(o) && DataTypes.IsFloat(g[o].DType)) fromWrt.Add(o);
        }
        // Nodes whose outputs reach a seeded output.
        var toLoss = seeds.Select(s => s.Output.Name).ToHashSet(StringComparer.Ordinal);
        var relevant = new bool[nodes.Count];
        for (var i = nodes.Count - 1; i >= 0; i--)
        {
            if (!onPath[i] || !nodes[i].Output.Any(toLoss.Contains)) continue;
            relevant[i] = true;
            foreach (var x in nodeInputs[i])
                if (fromWrt.Contains(x)) toLoss.Add(x);
        }

        var contributions = new Dictionary<string, List<Value>>(StringComparer.Ordinal);
        foreach (var (output, seed) in seeds)
        {
            if (!contributions.TryGetValue(output.Name, out var list)) contributions[output.Name] = list = [];
            list.Add(seed);
        }
        var result = new Dictionary<string, Value>(StringComparer.Ordinal);
        using (scope is null ? null : g.Scope(scope))
        {
            for (var i = nodes.Count - 1; i >= 0; i--)
            {
                if (!relevant[i]) continue;
                var node = nodes[i];
                var outGrads = node.Output.Select(o => contributions.ContainsKey(o) ? Accumulate(g, contributions, o) : null).ToList();
                if (outGrads.All(d => d is null)) continue;
                var op = OpRegistry.Get(node.OpType, node.Name);
                var inputs = nodeInputs[i].Select(x => x.Length > 0 ? g[x] : null).ToList();
                var outputs = node.Output.Select(o => o.Length > 0 && g.Contains(o) ? g[o] : null).ToList();
                var needs = nodeInputs[i].Select(x => x.Length > 0 && toLoss.Contains(x) && fromWrt.Contains(x)).ToList();
                IReadOnlyList<Value?> grads;
                using (g.Scope(node.Name.Length > 0 ? node.Name.Replace('/', '_') : node.OpType))
                {
                    var context = new GradientContext(node, inputs, outputs, outGrads, g, needs, options);
                    grads = op.Gradient(context);
                    if (options.Mutation is { } mutation && mutation.Matches(node)) grads = mutation.Apply(context, grads);
                    for (var k = 0; k < inputs.Count; k++)
                    {
                        if (!needs[k] || k >= grads.Count || grads[k] is not { } dx) continue;
                        var x = inputs[k]!;
                        dx = Unbroadcast(g, dx, x, node);
                        if (!contributions.TryGetValue(x.Name, out var list)) contributions[x.Name] = list = [];
                        list.Add(dx);
                    }
                }
            }
            foreach (var w in wrt)
            {
                if (result.ContainsKey(w.Name)) continue;
                result[w.Name] = contributions.ContainsKey(w.Name) ? Accumulate(g, contributions, w.Name) : g.ZerosLike(w);
            }
        }
        return result;
    }

    private static global::Onnx.TensorProto OneTensor(global::Onnx.TensorProto.Types.DataType dtype) => dtype switch
    {
        global::Onnx.TensorProto.Types.DataType.Double => Tensors.Create("one", [1.0], 1),
        _ => Tensors.Create("one", [1f], 1),
    };

    /// <summary>Sums the gradients that reached <paramref name="name"/> from its several uses (once: the sum replaces them).</summary>
    private static Value Accumulate(GraphBuilder g, Dictionary<string, List<Value>> contributions, string name)
    {
        var list = contributions[name];
        if (list.Count == 1) return list[0];
        var sum = g.Node1("Sum", list, name: "accumulate");
        contributions[name] = [sum];
        return sum;
    }

    /// <summary>Reduces a gradient computed at the broadcast shape back to the shape of the input it belongs to:
    /// ReduceSum over the broadcast axes (static shapes), or, where a dim is symbolic on one side only, a Shape-based
    /// fallback that sums the axis and keeps the sum where the input's dim is 1 at run time.</summary>
    internal static Value Unbroadcast(GraphBuilder g, Value dx, Value x, global::Onnx.NodeProto node)
    {
        // A rule that gives its gradient the input's own Shape object vouches that the shapes agree at run time (also
        // where a dim is unknown on both sides, which would otherwise look like a possible broadcast).
        if (ReferenceEquals(dx.Shape, x.Shape) || dx.Shape.Equals(x.Shape)) return dx;
        if (dx.Rank < x.Rank)
        {
            if (dx.Shape.ElementCount is { } a && x.Shape.ElementCount is { } b && a == b) return g.ReshapeLike(dx, x);
            throw new GraphException($"{node.Describe()}: gradient of rank {dx.Rank} {dx.Shape} cannot reduce to input '{x.Name}' {x.Shape}");
        }
        var lead = dx.Rank - x.Rank;
        var axes = new List<long>();
        var dynamic = new List<int>();
        for (var i = 0; i < dx.Rank; i++)
        {
            if (i < lead) { axes.Add(i); continue; }
            var t = x.Shape[i - lead];
            var d = dx.Shape[i];
            if (t == d && (t.IsKnown || t.Symbol is not null)) continue;
            if (t.Value == 1) { axes.Add(i); continue; }
            if (d.Value == 1) continue;
            if (t.IsKnown && d.IsKnown) throw new GraphException($"{node.Describe()}: gradient {dx.Shape} does not broadcast to input '{x.Name}' {x.Shape}");
            if (t.IsKnown) continue; // d is unknown but must equal t at run time
            dynamic.Add(i);
        }
        var r = axes.Count > 0 ? g.ReduceSum(dx, axes, keepDims: true) : dx;
        if (dynamic.Count > 0)
        {
            var xShape = g.ShapeOf(x);
            foreach (var i in dynamic)
            {
                var summed = g.ReduceSum(r, [i], keepDims: true);
                var xDim = g.Node1("Gather", [xShape, g.Ints("axis_index", i - lead)], [Attr.Int("axis", 0)]);
                var isOne = g.Node1("Equal", [xDim, g.Ints("one", 1)]);
                var picked = g.Where(isOne, summed, r);
                r = g.Node1("Slice", [picked, g.Ints("starts", 0), xDim, g.Ints("axes", i)]);
            }
        }
        return r.Shape.Equals(x.Shape) ? r : g.ReshapeLike(r, x);
    }
}
