using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Ops;

/// <summary>Window geometry shared by Conv, ConvTranspose and the pools (NC + spatial layout).</summary>
public sealed record Window(long[] Kernel, long[] Strides, long[] Dilations, long[] Pads, string AutoPad, bool CeilMode)
{
    public static Window Read(InferenceContext ctx, long[] kernel)
    {
        var n = kernel.Length;
        var node = ctx.Node;
        return new Window(
            kernel,
            node.GetInts("strides") ?? Enumerable.Repeat(1L, n).ToArray(),
            node.GetInts("dilations") ?? Enumerable.Repeat(1L, n).ToArray(),
            node.GetInts("pads") ?? new long[2 * n],
            node.GetString("auto_pad", "NOTSET"),
            node.GetInt("ceil_mode", 0) != 0);
    }

    public Dim[] Output(Shape input, InferenceContext ctx)
    {
        var n = Kernel.Length;
        if (input.Rank != n + 2) throw ctx.Error($"input {input} needs rank {n + 2} for a {n}-D window");
        var dims = new Dim[n];
        for (var i = 0; i < n; i++)
        {
            var d = input[i + 2];
            dims[i] = AutoPad switch
            {
                "SAME_UPPER" or "SAME_LOWER" => d.IsKnown ? Dim.Of((d.Known + Strides[i] - 1) / Strides[i]) : Dim.Unknown,
                "VALID" => ShapeMath.ConvOut(d, Kernel[i], Strides[i], Dilations[i], 0, 0, CeilMode),
                _ => ShapeMath.ConvOut(d, Kernel[i], Strides[i], Dilations[i], Pads[i], Pads[i + n], CeilMode),
            };
        }
        return dims;
    }
}

/// <summary>Conv(X[N,C,*], W[M,C/group,*k], B[M]) → Y[N,M,*].</summary>
public sealed class ConvOp : Op
{
    public override string Type => "Conv";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var w = ctx.Input(1).Shape;
        var group = ctx.Node.GetInt("group", 1);
        var kernel = ctx.Node.GetInts("kernel_shape") ?? w.Skip(2).ToArray();
        if (x.Shape[1].IsKnown && w[1].IsKnown && x.Shape[1].Known != w[1].Known * group)
            throw ctx.Error($"input has {x.Shape[1]} channels, weight {w} with group {group} expects {w[1].Known * group}");
        var spatial = Window.Read(ctx, kernel).Output(x.Shape, ctx);
        return [new TensorType(x.DType, Shape.Of([x.Shape[0], w[0], .. spatial]))];
    }
}

/// <summary>ConvTranspose(X[N,C,*], W[C,M/group,*k]) → Y[N,M,*]: out = stride·(in−1) + output_padding + (k−1)·dilation + 1 − pads.</summary>
public sealed class ConvTransposeOp : Op
{
    public override string Type => "ConvTranspose";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var w = ctx.Input(1).Shape;
        var group = ctx.Node.GetInt("group", 1);
        var kernel = ctx.Node.GetInts("kernel_shape") ?? w.Skip(2).ToArray();
        var n = kernel.Length;
        var win = Window.Read(ctx, kernel);
        var outputPadding = ctx.Node.GetInts("output_padding") ?? new long[n];
        var explicitShape = ctx.Node.GetInts("output_shape");
        var dims = new Dim[n];
        for (var i = 0; i < n; i++)
        {
            var d = x.Shape[i + 2];
            if (explicitShape is not null) { dims[i] = explicitShape[^(n - i)]; continue; }
            if (!d.IsKnown) { dims[i] = Dim.Unknown; continue; }
            var full = win.Strides[i] * (d.Known - 1) + outputPadding[i] + (kernel[i] - 1) * win.Dilations[i] + 1;
            dims[i] = win.AutoPad is "SAME_UPPER" or "SAME_LOWER" ? d.Known * win.Strides[i] : full - win.Pads[i] - win.Pads[i + n];
        }
        return [new TensorType(x.DType, Shape.Of([x.Shape[0], w[1] * group, .. dims]))];
    }
}

/// <summary>MaxPool → (Y, flat Indices of int64).</summary>
public sealed class MaxPoolOp : Op
{
    public override string Type => "MaxPool";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var kernel = ctx.Node.GetInts("kernel_shape") ?? throw ctx.Error("kernel_shape is required");
        var shape = Shape.Of([x.Shape[0], x.Shape[1], .. Window.Read(ctx, kernel).Output(x.Shape, ctx)]);
        return [new TensorType(x.DType, shape), new TensorType(DataType.Int64, shape)];
    }
}

public sealed class AveragePoolOp : Op
{
    public override string Type => "AveragePool";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var kernel = ctx.Node.GetInts("kernel_shape") ?? throw ctx.Error("kernel_shape is required");
        return [new TensorType(x.DType, Shape.Of([x.Shape[0], x.Shape[1], .. Window.Read(ctx, kernel).Output(x.Shape, ctx)]))];
    }
}

/// <summary>Global pools keep N, C and set every spatial dim to 1.</summary>
public abstract class GlobalPoolOp : Op
{
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        return [new TensorType(x.DType, Shape.Of([x.Shape[0], x.Shape[1], .. Enumerable.Repeat(Dim.Of(1), x.Shape.Rank - 2)]))];
    }
}

public sealed class GlobalAveragePoolOp : GlobalPoolOp { public override string Type => "GlobalAveragePool"; }
public sealed class GlobalMaxPoolOp : GlobalPoolOp { public override string Type => "GlobalMaxPool"; }
