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
        var nodes = g.Nodes.ToList();
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < nodes.Count; i++)
            foreach (var o in nodes[i].Output)
                if (o.Length > 0) producer[o] = i;

        // Values that depend on some wrt through differentiable nodes, carrying floating-point data.
        var fromWrt = wrt.Select(w => w.Name).ToHashSet(StringComparer.Ordinal);
        var onPath = new bool[nodes.Count];
        for (var i = 0; i < nodes.Count; i++)
        {
            var node = nodes[i];
            if (!node.Input.Any(fromWrt.Contains)) continue;
            var op = OpRegistry.Get(node.OpType, node.Name);
            if (!op.Differentiable) continue;
            onPath[i] = true;
            foreach (var o in node.Output)
                if (o.Length > 0 && g.Contains(o) && DataTypes.IsFloat(g[o].DType)) fromWrt.Add(o);
        }
        // Nodes whose outputs reach the loss.
        var toLoss = new HashSet<string>(StringComparer.Ordinal) { loss.Name };
        var relevant = new bool[nodes.Count];
        for (var i = nodes.Count - 1; i >= 0; i--)
        {
            if (!onPath[i] || !nodes[i].Output.Any(toLoss.Contains)) continue;
            relevant[i] = true;
            foreach (var x in nodes[i].Input)
                if (fromWrt.Contains(x)) toLoss.Add(x);
        }

        var contributions = new Dictionary<string, List<Value>>(StringComparer.Ordinal);
        var result = new Dictionary<string, Value>(StringComparer.Ordinal);
        using (g.Scope("grad"))
        {
            contributions[loss.Name] = [g.Node1("ConstantOfShape", [g.Ints("shape", loss.Shape.Dims.Select(_ => 1L).ToArray())],
                [Attr.Tensor("value", OneTensor(loss.DType))], name: "seed")];
            for (var i = nodes.Count - 1; i >= 0; i--)
            {
                if (!relevant[i]) continue;
                var node = nodes[i];
                var outGrads = node.Output.Select(o => contributions.ContainsKey(o) ? Accumulate(g, contributions, o) : null).ToList();
                if (outGrads.All(d => d is null)) continue;
                var op = OpRegistry.Get(node.OpType, node.Name);
                var inputs = node.Input.Select(x => x.Length > 0 ? g[x] : null).ToList();
                var outputs = node.Output.Select(o => o.Length > 0 && g.Contains(o) ? g[o] : null).ToList();
                var needs = node.Input.Select(x => x.Length > 0 && toLoss.Contains(x) && fromWrt.Contains(x)).ToList();
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
        if (dx.Shape.Equals(x.Shape)) return dx;
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
