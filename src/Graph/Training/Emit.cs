using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Training;

/// <summary>Short forms for the elementwise and reduction ops that losses and optimizers are made of. Every op used here
/// is one the autodiff has (or will have) a gradient rule for.</summary>
internal static class Emit
{
    public static Value Max(this GraphBuilder g, Value a, Value b) => g.Node1("Max", [a, b]);
    public static Value Min(this GraphBuilder g, Value a, Value b) => g.Node1("Min", [a, b]);
    public static Value Abs(this GraphBuilder g, Value x) => g.Node1("Abs", [x]);
    public static Value Log(this GraphBuilder g, Value x) => g.Node1("Log", [x]);
    public static Value Sqrt(this GraphBuilder g, Value x) => g.Node1("Sqrt", [x]);
    public static Value Square(this GraphBuilder g, Value x) => g.Node1("Mul", [x, x]);
    public static Value Pow(this GraphBuilder g, Value x, Value y) => g.Node1("Pow", [x, y]);
    public static Value Less(this GraphBuilder g, Value a, Value b) => g.Node1("Less", [a, b]);

    /// <summary>Clip(x, lo, hi) with scalar bounds of x's element type.</summary>
    public static Value Clip(this GraphBuilder g, Value x, double lo, double hi) =>
        g.Node1("Clip", [x, g.Scalar(lo, x.DType, "clip_min"), g.Scalar(hi, x.DType, "clip_max")]);

    public static Value Clip(this GraphBuilder g, Value x, Value lo, Value hi) => g.Node1("Clip", [x, lo, hi]);


    /// <summary>A float scalar constant (the element type the training graphs compute in).</summary>
    public static Value F(this GraphBuilder g, double value, string name = "const") => g.Scalar(value, DataType.Float, name);

    /// <summary>Σ over the last axis, dropped.</summary>
    public static Value SumLast(this GraphBuilder g, Value x, bool keepDims = false) =>
        g.Node1("ReduceSum", [x, g.Ints(-1)], [Attr.Int("keepdims", keepDims ? 1 : 0)]);

    /// <summary>Mean over the last axis, dropped.</summary>
    public static Value MeanLast(this GraphBuilder g, Value x) =>
        g.Node1("ReduceMean", [x], [Attr.Ints("axes", [-1L]), Attr.Int("keepdims", 0)]);

    /// <summary>Σ of every element, a scalar.</summary>
    public static Value SumAll(this GraphBuilder g, Value x) =>
        x.Rank == 0 ? x : g.Node1("ReduceSum", [x], [Attr.Int("keepdims", 0)]);

    /// <summary>The element count of x as a float scalar (Size is int64, so it is cast).</summary>
    public static Value CountOf(this GraphBuilder g, Value x) =>
        x.Shape.ElementCount is { } n ? g.F(n, "count") : g.Cast(g.Node1("Size", [x]), DataType.Float);
}
