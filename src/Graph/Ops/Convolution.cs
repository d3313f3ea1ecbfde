using NeuralService.Graph.Autodiff;
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

    /// <summary>Y = X ⋆ W + B; dX = ConvTranspose(dY, W), dW = Σ_N dY·im2col(X)ᵀ (one Gemm per group), dB = Σ_{N,spatial} dY</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var w = c.X(1);
        var dy = c.DY();
        var geo = ConvGeometry.Of(c, x, w.Shape.Skip(2), dy);
        var group = c.Node.GetInt("group", 1);
        Value? dx = null, dw = null, db = null;
        if (c.Needs(0))
        {
            var outputPadding = Enumerable.Range(0, geo.N).Select(i =>
                geo.In[i] + geo.Pads[i] + geo.Pads[i + geo.N] - ((geo.Out[i] - 1) * geo.Strides[i] + (geo.Kernel[i] - 1) * geo.Dilations[i] + 1)).ToArray();
            dx = g.Node1("ConvTranspose", [dy, w], [.. geo.Attributes(group), Attr.Ints("output_padding", outputPadding)]);
        }
        if (c.Needs(1))
            dw = c.Options.ConvWeightGradient == ConvWeightGradient.Conv && group == 1
                ? ConvGeometry.WeightGradientByConv(g, x, dy, geo, w)
                : ConvGeometry.WeightGradient(g, x, dy, geo, group, w);
        if (c.Needs(2)) db = g.ReduceSum(dy, Emit.AxesExcept(dy.Rank, 1), keepDims: false);
        return [dx, dw, db];
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

    /// <summary>Y = Xᵀ⋆W + B (the adjoint of Conv); dX = Conv(dY, W), dW = Σ_N X·im2col(dY)ᵀ, dB = Σ_{N,spatial} dY</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var w = c.X(1);
        var dy = c.DY();
        if (c.Node.GetString("auto_pad", "NOTSET") != "NOTSET" || c.Node.Has("output_shape"))
            throw c.Error("only explicit pads (auto_pad NOTSET, no output_shape) have a gradient rule");
        var group = c.Node.GetInt("group", 1);
        // The roles swap: dY (padded by the forward crop) is the window input, X the output.
        var geo = ConvGeometry.Of(c, dy, w.Shape.Skip(2), x);
        Value? dx = null, dw = null, db = null;
        if (c.Needs(0)) dx = g.Node1("Conv", [dy, w], geo.Attributes(group));
        if (c.Needs(1)) dw = ConvGeometry.WeightGradient(g, dy, x, geo, group, w);
        if (c.Needs(2)) db = g.ReduceSum(dy, Emit.AxesExcept(dy.Rank, 1), keepDims: false);
        return [dx, dw, db];
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

    /// <summary>Y = max over windows, I = flat argmax; dX = ScatterElements(0, I, dY, add)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        if (c.Node.GetInt("storage_order", 0) != 0) throw c.Error("storage_order 1 has no gradient rule");
        if (c.Outputs.Count < 2 || c.Outputs[1] is null)
        {
            // The rule needs the argmax indices: the forward node gains its Indices output.
            var name = g.UniqueName(c.Node.Name + "_indices");
            while (c.Node.Output.Count < 2) c.Node.Output.Add("");
            c.Node.Output[1] = name;
            g.Declare(name, DataType.Int64, c.Y().Shape);
        }
        var indices = g[c.Node.Output[1]];
        var size = x.Shape.ElementCount is { } n ? g.Ints("size", n) : g.Reshape(g.Node1("Size", [x]), 1);
        var zeros = g.Node1("ConstantOfShape", [size], [Attr.Tensor("value", Emit.ZeroTensor(x.DType))]);
        var scattered = g.Node1("ScatterElements", [zeros, g.Reshape(indices, -1), g.Reshape(c.DY(), -1)],
            [Attr.Int("axis", 0), Attr.String("reduction", "add")]);
        return [g.ReshapeLike(scattered, x)];
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

    /// <summary>Y = Σ_window X / count; dX = ConvTranspose(dY/count, ones) per channel</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var dy = c.DY();
        var kernel = c.Node.GetInts("kernel_shape")!;
        var geo = ConvGeometry.Of(c, x, Shape.Of(kernel), dy);
        var n = geo.N;
        var includePad = c.Node.GetInt("count_include_pad", 0) != 0;
        // Divisor of each output position: the window clipped to the input (or to the padded input).
        var outCount = (int)geo.Out.Aggregate(1L, (p, d) => p * d);
        var divisor = new double[outCount];
        for (var flat = 0; flat < outCount; flat++)
        {
            var rest = flat;
            double count = 1;
            for (var i = n - 1; i >= 0; i--)
            {
                var o = rest % geo.Out[i];
                rest /= (int)geo.Out[i];
                var start = o * geo.Strides[i] - geo.Pads[i];
                var end = Math.Min(start + geo.Kernel[i], geo.In[i] + geo.Pads[i + n]);
                if (!includePad) { start = Math.Max(start, 0); end = Math.Min(end, geo.In[i]); }
                count *= Math.Max(1, end - start);
            }
            divisor[flat] = count;
        }
        long[] divDims = [1, 1, .. geo.Out];
        var div = x.DType == DataType.Double
            ? g.Constant(Tensors.Create("divisor", divisor, divDims), "divisor")
            : g.Cast(g.Constant(Tensors.Create("divisor", divisor.Select(d => (float)d).ToArray(), divDims), "divisor"), x.DType);
        var scaled = g.Reshape(g.Div(dy, div), [-1, 1, .. geo.Out]);
        var full = Enumerable.Range(0, n).Select(i => (geo.Out[i] - 1) * geo.Strides[i] + geo.Kernel[i]).ToArray();
        var needed = Enumerable.Range(0, n).Select(i => geo.In[i] + geo.Pads[i] + geo.Pads[i + n]).ToArray();
        long[] pads = [.. geo.Pads.Take(n), .. Enumerable.Range(0, n).Select(i => geo.Pads[i + n] + Math.Max(0, full[i] - needed[i]))];
        var outputPadding = Enumerable.Range(0, n).Select(i => Math.Max(0, needed[i] - full[i])).ToArray();
        var ones = Enumerable.Repeat(1.0, (int)kernel.Aggregate(1L, (p, k) => p * k)).ToArray();
        long[] onesDims = [1, 1, .. kernel];
        var w = x.DType == DataType.Double
            ? g.Constant(Tensors.Create("ones", ones, onesDims), "ones")
            : g.Cast(g.Constant(Tensors.Create("ones", ones.Select(d => (float)d).ToArray(), onesDims), "ones"), x.DType);
        var dx = g.Node1("ConvTranspose", [scaled, w], [Attr.Ints("strides", geo.Strides), Attr.Ints("pads", pads), Attr.Ints("output_padding", outputPadding)]);
        return [g.ReshapeLike(dx, x)];
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

public sealed class GlobalAveragePoolOp : GlobalPoolOp
{
    public override string Type => "GlobalAveragePool";

    /// <summary>Y = mean over spatial dims; dX = expand(dY)/count</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var x = c.X(0);
        var spatial = x.Shape.Skip(2);
        if (!spatial.IsFullyKnown) throw c.Error($"spatial dims of {x.Shape} must be static");
        return [c.Graph.ExpandLike(c.Graph.Scale(c.DY(), 1.0 / spatial.ElementCount!.Value), x)];
    }
}

public sealed class GlobalMaxPoolOp : GlobalPoolOp
{
    public override string Type => "GlobalMaxPool";

    /// <summary>Y = max over spatial dims; dX = dY·[X = Y]</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c) =>
        [c.Graph.WhereOrZero(c.Graph.Compare("Equal", c.X(0), c.Y()), c.Graph.ExpandLike(c.DY(), c.X(0)))];
}

/// <summary>Static window geometry of a node for its gradient: explicit pads resolved from auto_pad.</summary>
internal sealed record ConvGeometry(int N, long[] In, long[] Out, long[] Kernel, long[] Strides, long[] Dilations, long[] Pads)
{
    public static ConvGeometry Of(GradientContext c, Value input, Shape kernelShape, Value output)
    {
        var node = c.Node;
        if (!kernelShape.IsFullyKnown) throw c.Error($"kernel shape {kernelShape} must be static");
        var kernel = node.GetInts("kernel_shape") ?? kernelShape.ToArray();
        var n = kernel.Length;
        var spatialIn = input.Shape.Skip(2);
        var spatialOut = output.Shape.Skip(2);
        if (!spatialIn.IsFullyKnown || !spatialOut.IsFullyKnown)
            throw c.Error($"spatial dims of {input.Shape} and {output.Shape} must be static");
        var strides = node.GetInts("strides") ?? Enumerable.Repeat(1L, n).ToArray();
        var dilations = node.GetInts("dilations") ?? Enumerable.Repeat(1L, n).ToArray();
        var pads = node.GetInts("pads") ?? new long[2 * n];
        var autoPad = node.GetString("auto_pad", "NOTSET");
        if (autoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            pads = new long[2 * n];
            for (var i = 0; i < n; i++)
                (pads[i], pads[i + n]) = ShapeMath.SamePads(spatialIn[i].Known, kernel[i], strides[i], dilations[i], autoPad == "SAME_UPPER");
        }
        else if (autoPad == "VALID") pads = new long[2 * n];
        return new ConvGeometry(n, spatialIn.ToArray(), spatialOut.ToArray(), kernel, strides, dilations, pads);
    }

    public IEnumerable<global::Onnx.AttributeProto> Attributes(long group) =>
        [Attr.Ints("strides", Strides), Attr.Ints("dilations", Dilations), Attr.Ints("pads", Pads), Attr.Int("group", group)];

    /// <summary>dW = Transpose(Conv(Transpose(Xpad), Transpose(dOut), strides = d, dilations = s)) cropped to the kernel:
    /// the batch becomes the reduced channel axis (group 1 only).</summary>
    public static Value WeightGradientByConv(GraphBuilder g, Value input, Value dOut, ConvGeometry geo, Value w)
    {
        var n = geo.N;
        var xp = input;
        if (geo.Pads.Any(p => p != 0))
            xp = g.Node1("Pad", [input, g.Ints("pads", [0, 0, .. geo.Pads.Take(n), 0, 0, .. geo.Pads.Skip(n)])]);
        long[] swap = [1, 0, .. Enumerable.Range(2, n).Select(a => (long)a)];
        var full = g.Node1("Conv", [g.Transpose(xp, swap), g.Transpose(dOut, swap)],
            [Attr.Ints("strides", geo.Dilations), Attr.Ints("dilations", geo.Strides)]);
        // Leftover input the forward windows never reached makes the result larger than the kernel.
        var spatial = full.Shape.Skip(2);
        if (!spatial.IsFullyKnown || spatial.ToArray().Where((d, i) => d != geo.Kernel[i]).Any())
            full = g.Slice(full, new long[n], geo.Kernel, Enumerable.Range(2, n).Select(a => (long)a).ToArray());
        return g.ReshapeLike(g.Transpose(full, swap), w);
    }

    /// <summary>dW[m, c, k] = Σ_{n,p} dOut[n, m, p]·Xpad[n, c, p·s + k·d]: the kernel offsets as strided Slices of the
    /// padded input (im2col), then one Gemm (one batched MatMul with groups) against the output gradient.</summary>
    public static Value WeightGradient(GraphBuilder g, Value input, Value dOut, ConvGeometry geo, long group, Value w)
    {
        var n = geo.N;
        var xp = input;
        if (geo.Pads.Any(p => p != 0))
            xp = g.Node1("Pad", [input, g.Ints("pads", [0, 0, .. geo.Pads.Take(n), 0, 0, .. geo.Pads.Skip(n)])]);
        var kCount = (int)geo.Kernel.Aggregate(1L, (p, k) => p * k);
        var axes = Enumerable.Range(2, n).Select(a => (long)a).ToArray();
        var columns = new List<Value>(kCount);
        for (var flat = 0; flat < kCount; flat++)
        {
            var offset = new long[n];
            var rest = flat;
            for (var i = n - 1; i >= 0; i--) { offset[i] = rest % geo.Kernel[i]; rest /= (int)geo.Kernel[i]; }
            var starts = offset.Select((o, i) => o * geo.Dilations[i]).ToArray();
            var ends = starts.Select((st, i) => st + (geo.Out[i] - 1) * geo.Strides[i] + 1).ToArray();
            columns.Add(g.Unsqueeze(g.Slice(xp, starts, ends, axes, geo.Strides), 2));
        }
        var cols = g.Concat(columns, 2); // [N, Cin, K, out...]
        var cin = input.Shape[1].Known;
        var cout = dOut.Shape[1].Known;
        var positions = geo.Out.Aggregate(1L, (p, d) => p * d);
        var ck = cin / group * kCount;
        Value flatW;
        if (group == 1)
        {
            var colsT = g.Reshape(g.Transpose(g.Reshape(cols, 0, ck, positions), 1, 0, 2), ck, -1);
            var dyT = g.Reshape(g.Transpose(g.Reshape(dOut, 0, cout, positions), 1, 0, 2), cout, -1);
            flatW = g.Node1("Gemm", [dyT, colsT], [Attr.Int("transB", 1)]);
        }
        else
        {
            var colsG = g.Transpose(g.Reshape(cols, 0, group, ck, positions), 0, 1, 3, 2);
            var dyG = g.Reshape(dOut, 0, group, cout / group, positions);
            flatW = g.ReduceSum(g.MatMul(dyG, colsG), [0], keepDims: false);
        }
        return g.ReshapeLike(flatW, w);
    }
}
