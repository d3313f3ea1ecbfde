using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Autodiff;

/// <summary>Short forms for the nodes gradient rules emit. Constants take the element type of the value they meet,
/// so the same rule serves float and double graphs.</summary>
public static class Emit
{
    public static Value Unary(this GraphBuilder g, string op, Value a) => g.Node1(op, [a]);
    public static Value MatMul(this GraphBuilder g, Value a, Value b) => g.Node1("MatMul", [a, b]);

    /// <summary>a·s for a constant scalar s (no node when s = 1).</summary>
    public static Value Scale(this GraphBuilder g, Value a, double s) => s == 1 ? a : g.Mul(a, g.Scalar(s, a.DType));
    public static Value Scalar(this GraphBuilder g, double v, Value like) => g.Scalar(v, like.DType);

    /// <summary>Where(cond, a, 0).</summary>
    public static Value WhereOrZero(this GraphBuilder g, Value cond, Value a) => g.Where(cond, a, g.Scalar(0, a));
    public static Value Compare(this GraphBuilder g, string op, Value a, Value b) => g.Node1(op, [a, b]);


    public static Value Transpose(this GraphBuilder g, Value a, params long[] perm) =>
        perm.Select((p, i) => p == i).All(x => x) ? a : g.Node1("Transpose", [a], [Attr.Ints("perm", perm)]);

    /// <summary>Reshape to a constant target (0 copies the input dim, −1 inferred).</summary>
    public static Value Reshape(this GraphBuilder g, Value a, params long[] target) => g.Node1("Reshape", [a, g.Ints("shape", target)]);

    /// <summary>Reshape <paramref name="a"/> (of as many elements) to <paramref name="like"/>'s shape: a constant target when
    /// at most one dim is not static (−1 there), else Shape(like); the result carries like's shape either way.</summary>
    public static Value ReshapeLike(this GraphBuilder g, Value a, Value like)
    {
        if (a.Shape.Equals(like.Shape) && (a.Shape.IsFullyKnown || a.Shape.Dims.All(d => d.IsKnown || d.Symbol is not null))) return a;
        var dims = like.Shape.Dims;
        var open = dims.Count(d => !d.IsKnown);
        var target = open == 0 ? g.Ints("shape", like.Shape.ToArray())
            : open == 1 && dims.All(d => !d.IsKnown || d.Known > 0) ? g.Ints("shape", dims.Select(d => d.Value ?? -1).ToArray())
            : g.ShapeOf(like);
        return g.Refine(g.Node1("Reshape", [a, target]), like.Shape);
    }

    /// <summary>Broadcasts <paramref name="a"/> to <paramref name="like"/>'s shape: a constant target when every dim
    /// that is not static is one <paramref name="a"/> already has (1 there), else Shape(like).</summary>
    public static Value ExpandLike(this GraphBuilder g, Value a, Value like)
    {
        var lead = like.Rank - a.Rank;
        var constant = lead >= 0 && like.Shape.Dims.Select((d, i) => d.IsKnown || (i >= lead && a.Shape[i - lead] == d && d.Symbol is not null)).All(ok => ok);
        var target = constant ? g.Ints("shape", like.Shape.Dims.Select(d => d.Value ?? 1).ToArray()) : g.ShapeOf(like);
        return g.Refine(g.Node1("Expand", [a, target]), like.Shape);
    }

    public static Value ShapeOf(this GraphBuilder g, Value a) => g.Node1("Shape", [a]);

    /// <summary>Shape(a)[start:end] (int64, 1-D).</summary>
    public static Value ShapeOf(this GraphBuilder g, Value a, long start, long? end = null) =>
        start == 0 && end is null ? g.ShapeOf(a)
            : g.Node1("Shape", [a], end is { } e ? [Attr.Int("start", start), Attr.Int("end", e)] : [Attr.Int("start", start)]);

    /// <summary>Elements of <paramref name="x"/> per element of <paramref name="y"/> (the count a mean over the reduced
    /// axes divides by) as a scalar of x's type: a constant when those dims are static, else Size(x)/Size(y) at run time.</summary>
    public static Value CountRatio(this GraphBuilder g, Value x, Value y, IEnumerable<long> reducedAxes)
    {
        var dims = reducedAxes.Select(a => x.Shape[(int)a]).ToList();
        if (dims.All(d => d.IsKnown)) return g.Scalar(dims.Aggregate(1L, (p, d) => p * d.Known), x.DType);
        var ratio = g.Div(g.Node1("Size", [x]), g.Node1("Size", [y]));
        return g.Cast(ratio, x.DType);
    }

    /// <summary>A 1-D int64 vector from static entries and run-time pieces (1-D int64 Values), in order.</summary>
    public static Value IntVector(this GraphBuilder g, IEnumerable<object> entries)
    {
        var parts = new List<Value>();
        var pending = new List<long>();
        void Flush()
        {
            if (pending.Count == 0) return;
            parts.Add(g.Ints(pending.ToArray()));
            pending.Clear();
        }
        foreach (var e in entries)
        {
            if (e is long l) { pending.Add(l); continue; }
            Flush();
            parts.Add(e as Value ?? throw new ArgumentException($"entry {e} is neither a long nor a Value"));
        }
        Flush();
        return parts.Count == 0 ? g.Ints() : g.Concat(parts, 0);
    }

    public static Value ReduceSum(this GraphBuilder g, Value a, IEnumerable<long> axes, bool keepDims = true)
    {
        var ax = axes.ToArray();
        if (ax.Length == 0) return a;
        return g.Node1("ReduceSum", [a, g.Ints("axes", ax)], [Attr.Int("keepdims", keepDims ? 1 : 0)]);
    }

    public static Value ReduceMean(this GraphBuilder g, Value a, IEnumerable<long> axes, bool keepDims = true) =>
        g.Node1("ReduceMean", [a], [Attr.Ints("axes", axes), Attr.Int("keepdims", keepDims ? 1 : 0)]);

    public static Value Unsqueeze(this GraphBuilder g, Value a, params long[] axes) =>
        axes.Length == 0 ? a : g.Node1("Unsqueeze", [a, g.Ints("axes", axes)]);

    public static Value Squeeze(this GraphBuilder g, Value a, params long[] axes) =>
        axes.Length == 0 ? a : g.Node1("Squeeze", [a, g.Ints("axes", axes)]);

    public static Value Concat(this GraphBuilder g, IReadOnlyList<Value> parts, long axis) =>
        parts.Count == 1 ? parts[0] : g.Node1("Concat", parts, [Attr.Int("axis", axis)]);

    public static Value Slice(this GraphBuilder g, Value a, long[] starts, long[] ends, long[] axes, long[]? steps = null) =>
        g.Node1("Slice", steps is null
            ? [a, g.Ints("starts", starts), g.Ints("ends", ends), g.Ints("axes", axes)]
            : [a, g.Ints("starts", starts), g.Ints("ends", ends), g.Ints("axes", axes), g.Ints("steps", steps)]);

    /// <summary>Zeros of <paramref name="like"/>'s shape and type: ConstantOfShape over a constant or dynamic shape.</summary>
    public static Value ZerosLike(this GraphBuilder g, Value like)
    {
        var shape = like.Shape.IsFullyKnown ? g.Ints("shape", like.Shape.ToArray()) : g.ShapeOf(like);
        return g.Node1("ConstantOfShape", [shape], [Attr.Tensor("value", ZeroTensor(like.DType))]);
    }

    public static global::Onnx.TensorProto ZeroTensor(DataType dtype) => dtype switch
    {
        DataType.Double => Tensors.Create("zero", [0.0], 1),
        DataType.Float16 => Tensors.Raw("zero", DataType.Float16, new byte[2], [1], 1),
        DataType.Int64 => Tensors.Create("zero", [0L], 1),
        _ => Tensors.Create("zero", [0f], 1),
    };

    /// <summary>All axes of <paramref name="rank"/> except those listed.</summary>
    public static long[] AxesExcept(int rank, params int[] keep) =>
        Enumerable.Range(0, rank).Where(a => !keep.Contains(a)).Select(a => (long)a).ToArray();
}
