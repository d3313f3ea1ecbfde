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

    /// <summary>Reshape <paramref name="a"/> to <paramref name="like"/>'s shape: a constant when static, else Shape(like).</summary>
    public static Value ReshapeLike(this GraphBuilder g, Value a, Value like)
    {
        if (a.Shape.Equals(like.Shape) && a.Shape.IsFullyKnown) return a;
        var target = like.Shape.IsFullyKnown ? g.Ints("shape", like.Shape.ToArray()) : g.ShapeOf(like);
        var r = g.Node1("Reshape", [a, target]);
        return r;
    }

    /// <summary>Broadcasts <paramref name="a"/> to <paramref name="like"/>'s shape.</summary>
    public static Value ExpandLike(this GraphBuilder g, Value a, Value like)
    {
        var target = like.Shape.IsFullyKnown ? g.Ints("shape", like.Shape.ToArray()) : g.ShapeOf(like);
        return g.Node1("Expand", [a, target]);
    }

    public static Value ShapeOf(this GraphBuilder g, Value a) => g.Node1("Shape", [a]);

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
