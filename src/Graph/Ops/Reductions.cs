using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Ops;

/// <summary>Reductions over axes (an input for ReduceSum in opset 13+, an attribute for the others in opset 17).</summary>
public abstract class ReduceOp : Op
{
    protected virtual bool AxesAsInput => false;

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var keep = ctx.Node.GetInt("keepdims", 1) != 0;
        var axes = AxesAsInput ? ctx.ConstantLongs(1) : ctx.Node.GetInts("axes");
        if (AxesAsInput && axes is null && ctx.HasInput(1)) throw ctx.Error("axes must be a constant");
        var noop = ctx.Node.GetInt("noop_with_empty_axes", 0) != 0;
        if ((axes is null || axes.Length == 0) && noop) return [x];
        var set = (axes is null || axes.Length == 0 ? Enumerable.Range(0, x.Shape.Rank).Select(i => (long)i) : axes)
            .Select(a => x.Shape.NormalizeAxis(a)).ToHashSet();
        var dims = x.Shape.Dims.SelectMany((d, i) => set.Contains(i) ? keep ? [Dim.Of(1)] : Array.Empty<Dim>() : [d]);
        return [new TensorType(x.DType, new Shape(dims))];
    }

    /// <summary>The reduced axes (null when the node reduces nothing) and dY with those axes kept as 1.</summary>
    protected (long[]? Axes, Value DyKept) Reduced(GradientContext c)
    {
        var x = c.X(0);
        var axes = AxesAsInput ? c.HasInput(1) ? c.ConstantLongs(1) ?? throw c.Error("axes must be a constant") : null : c.Node.GetInts("axes");
        if ((axes is null || axes.Length == 0) && c.Node.GetInt("noop_with_empty_axes", 0) != 0) return (null, c.DY());
        var set = (axes is null || axes.Length == 0 ? Enumerable.Range(0, x.Rank).Select(i => (long)i) : axes)
            .Select(a => (long)x.Shape.NormalizeAxis(a)).OrderBy(a => a).ToArray();
        var dy = c.Node.GetInt("keepdims", 1) != 0 ? c.DY() : c.Graph.Unsqueeze(c.DY(), set);
        return (set, dy);
    }

    /// <summary>The forward output with the reduced axes kept as 1.</summary>
    protected static Value KeptY(GradientContext c, long[] axes) => c.Node.GetInt("keepdims", 1) != 0 ? c.Y() : c.Graph.Unsqueeze(c.Y(), axes);

    /// <summary>dX = [X = Y]·dY/ties for max and min: the selected inputs share dY, so dX sums to dY (a subgradient) however
    /// many tie; ties are common, e.g. windows of equal padding or of a zero background.</summary>
    protected IReadOnlyList<Value?> SharedAmongTies(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var (axes, dy) = Reduced(c);
        if (axes is null) return [dy];
        var selected = g.Cast(g.Compare("Equal", x, KeptY(c, axes)), x.DType);
        return [g.Mul(selected, g.Div(dy, g.ReduceSum(selected, axes, keepDims: true)))];
    }

    /// <summary>dX = expand(dY)·f(X, Y) for the reductions whose local derivative is elementwise.</summary>
    protected IReadOnlyList<Value?> Local(GradientContext c, Func<Value, Value, Value> derivative)
    {
        var g = c.Graph;
        var (axes, dy) = Reduced(c);
        if (axes is null) return [dy];
        return [g.Mul(g.ExpandLike(dy, c.X(0)), derivative(c.X(0), KeptY(c, axes)))];
    }
}

public sealed class ReduceSumOp : ReduceOp
{
    public override string Type => "ReduceSum";
    protected override bool AxesAsInput => true;

    /// <summary>Y = Σ_axes X; dX = expand(dY)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var (_, dy) = Reduced(c);
        return [c.Graph.ExpandLike(dy, c.X(0)), null];
    }
}

public sealed class ReduceMeanOp : ReduceOp
{
    public override string Type => "ReduceMean";

    /// <summary>Y = mean_axes X; dX = expand(dY)/count (count a constant, or Size(X)/Size(Y) when a reduced dim is symbolic)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var (axes, dy) = Reduced(c);
        if (axes is null) return [dy];
        var dims = axes.Select(a => x.Shape[(int)a]).ToList();
        var scaled = dims.All(d => d.IsKnown)
            ? g.Scale(dy, 1.0 / dims.Aggregate(1L, (p, d) => p * d.Known))
            : g.Div(dy, g.CountRatio(x, c.Y(), axes));
        return [g.ExpandLike(scaled, x)];
    }
}

public sealed class ReduceMaxOp : ReduceOp
{
    public override string Type => "ReduceMax";

    /// <summary>Y = max_axes X; dX = [X = Y]·dY/ties (tied maxima share dY, as TensorFlow's and JAX's reductions do)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c) => SharedAmongTies(c);
}

public sealed class ReduceMinOp : ReduceOp
{
    public override string Type => "ReduceMin";

    /// <summary>Y = min_axes X; dX = [X = Y]·dY/ties (tied minima share dY)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c) => SharedAmongTies(c);
}

public sealed class ReduceProdOp : ReduceOp { public override string Type => "ReduceProd"; }

/// <summary>Y = Σ_axes |X|; dX = expand(dY)·sign(X)</summary>
public sealed class ReduceL1Op : ReduceOp
{
    public override string Type => "ReduceL1";
    public override IReadOnlyList<Value?> Gradient(GradientContext c) => Local(c, (x, _) => c.Graph.Unary("Sign", x));
}

/// <summary>Y = √(Σ_axes X²); dX = expand(dY)·X/Y</summary>
public sealed class ReduceL2Op : ReduceOp
{
    public override string Type => "ReduceL2";
    public override IReadOnlyList<Value?> Gradient(GradientContext c) => Local(c, (x, y) => c.Graph.Div(x, y));
}

/// <summary>Y = Σ_axes X²; dX = expand(dY)·2X</summary>
public sealed class ReduceSumSquareOp : ReduceOp
{
    public override string Type => "ReduceSumSquare";
    public override IReadOnlyList<Value?> Gradient(GradientContext c) => Local(c, (x, _) => c.Graph.Scale(x, 2));
}

/// <summary>Y = log Σ_axes eˣ; dX = expand(dY)·e^(X − Y)</summary>
public sealed class ReduceLogSumExpOp : ReduceOp
{
    public override string Type => "ReduceLogSumExp";
    public override IReadOnlyList<Value?> Gradient(GradientContext c) => Local(c, (x, y) => c.Graph.Unary("Exp", c.Graph.Sub(x, y)));
}

/// <summary>ArgMax/ArgMin: int64 indices along one axis.</summary>
public abstract class ArgReduceOp : Op
{
    public override bool Differentiable => false;

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var axis = x.Shape.NormalizeAxis(ctx.Node.GetInt("axis", 0));
        var keep = ctx.Node.GetInt("keepdims", 1) != 0;
        var dims = x.Shape.Dims.SelectMany((d, i) => i == axis ? keep ? [Dim.Of(1)] : Array.Empty<Dim>() : [d]);
        return [new TensorType(DataType.Int64, new Shape(dims))];
    }
}

public sealed class ArgMaxOp : ArgReduceOp { public override string Type => "ArgMax"; }
public sealed class ArgMinOp : ArgReduceOp { public override string Type => "ArgMin"; }

public sealed class TopKOp : Op
{
    public override string Type => "TopK";
    public override bool Differentiable => false;
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var axis = x.Shape.NormalizeAxis(ctx.Node.GetInt("axis", -1));
        var k = ctx.ConstantLongs(1) is { } kk ? Dim.Of(kk[0]) : Dim.Unknown;
        var shape = x.Shape.WithDim(axis, k);
        return [new TensorType(x.DType, shape), new TensorType(DataType.Int64, shape)];
    }
}
