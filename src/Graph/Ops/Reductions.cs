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
}

public sealed class ReduceSumOp : ReduceOp { public override string Type => "ReduceSum"; protected override bool AxesAsInput => true; }
public sealed class ReduceMeanOp : ReduceOp { public override string Type => "ReduceMean"; }
public sealed class ReduceMaxOp : ReduceOp { public override string Type => "ReduceMax"; }
public sealed class ReduceMinOp : ReduceOp { public override string Type => "ReduceMin"; }
public sealed class ReduceProdOp : ReduceOp { public override string Type => "ReduceProd"; }
public sealed class ReduceL1Op : ReduceOp { public override string Type => "ReduceL1"; }
public sealed class ReduceL2Op : ReduceOp { public override string Type => "ReduceL2"; }
public sealed class ReduceSumSquareOp : ReduceOp { public override string Type => "ReduceSumSquare"; }
public sealed class ReduceLogSumExpOp : ReduceOp { public override string Type => "ReduceLogSumExp"; }

/// <summary>ArgMax/ArgMin: int64 indices along one axis.</summary>
public abstract class ArgReduceOp : Op
{
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
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var axis = x.Shape.NormalizeAxis(ctx.Node.GetInt("axis", -1));
        var k = ctx.ConstantLongs(1) is { } kk ? Dim.Of(kk[0]) : Dim.Unknown;
        var shape = x.Shape.WithDim(axis, k);
        return [new TensorType(x.DType, shape), new TensorType(DataType.Int64, shape)];
    }
}
