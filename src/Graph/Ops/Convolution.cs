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

    /// <summary>k where square k×k windows move by k with no pads, dilations or ceil mode, so that they tile their
    /// input (2-D); else null. Strides absent here mean no tiling; callers pass ONNX's default where it applies.</summary>
    public static long? SquareTiling(long[]? kernel, long[]? strides, long[]? dilations, long[]? pads, long ceilMode)
    {
        if (kernel is not [var k, var k2] || k != k2 || strides is null || !strides.SequenceEqual([k, k])) return null;
        return (dilations ?? []).Any(d => d != 1) || (pads ?? []).Any(p => p != 0) || ceilMode != 0 ? null : k;
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
        if (x.Shape[1].IsKnown && w[1].IsKnown && x.Shape[1].Known != w[1].Known * group)
            throw ctx.Error($"input has {x.Shape[1]} channels, weight {w} with group {group} expects {w[1].Known * group}");
        // A kernel of run-time size (a weight gradient written as a Conv whose kernel is dY) gives unknown sizes.
        var kernel = ctx.Node.GetInts("kernel_shape") ?? (w.Skip(2).IsFullyKnown ? w.Skip(2).ToArray() : null);
        var spatial = kernel is null ? Enumerable.Repeat(Dim.Unknown, w.Rank - 2).ToArray() : Window.Read(ctx, kernel).Output(x.Shape, ctx);
        return [new TensorType(x.DType, Shape.Of([x.Shape[0], w[0], .. spatial]))];
    }

    /// <summary>Y = X ⋆ W + B; dX = ConvTranspose(dY, W), dW = Σ_N dY·im2col(X)ᵀ (one Gemm per group), dB = Σ_{N,spatial} dY</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var w = c.X(1);
        var dy = c.DY();
        var geo = ConvGeometry.Of(c, x, w.Shape.Skip(2), c.Y());
        var group = c.Node.GetInt("group", 1);
        Value? dx = null, dw = null, db = null;
        if (c.Needs(0)) dx = g.Refine(geo.TransposedToInput(dy, w, group), x.Shape);
        if (c.Needs(1) && c.Options.ConvWeightGradient != ConvWeightGradient.Conv && group == 1
            && ConvGeometry.PerSampleWeightGradient(g, x, dy, geo, w, c.Needs(2), c.Options.GatherColumnsFromChannels) is { } perSample)
            (dw, db) = perSample;
        else if (c.Needs(1))
            dw = c.Options.ConvWeightGradient == ConvWeightGradient.Conv && group == 1
                ? ConvGeometry.WeightGradientByConv(g, x, dy, geo, w)
                : ConvGeometry.WeightGradient(g, x, dy, geo, group, w, c.Options.GatherColumnsFromChannels);
        if (c.Needs(2) && db is null) db = g.ReduceSum(dy, Emit.AxesExcept(dy.Rank, 1), keepDims: false);
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
        var outputPadding = c.Node.GetInts("output_padding") ?? [];
        var strides = c.Node.GetInts("strides");
        if (outputPadding.Where((p, i) => p >= (strides?[i] ?? 1)).Any())
            throw c.Error($"output_padding [{string.Join(", ", outputPadding)}] at or above the stride has no gradient rule");
        // The roles swap: dY (padded by the forward crop) is the window input, X the output. With pads and
        // output_padding below the stride, Conv(dY) has exactly X's spatial size, whatever the sizes are.
        var geo = ConvGeometry.Of(c, c.Y(), w.Shape.Skip(2), x);
        Value? dx = null, dw = null, db = null;
        if (c.Needs(0)) dx = g.Refine(g.Node1("Conv", [dy, w], geo.Attributes(group)), x.Shape);
        if (c.Needs(1)) dw = ConvGeometry.WeightGradient(g, dy, x, geo, group, w, c.Options.GatherColumnsFromChannels);
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

    /// <summary>Y = max over windows. Square 2-D windows that tile the input (stride = kernel, no pads or dilation,
    /// static spatial dims): dX = [X = Y]·dY/count per window, count the window's ties, which share dY (a subgradient; the input the last window leaves out gets 0). Otherwise I = flat
    /// argmax, dX = ScatterElements(0, I, dY, add).</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        if (c.Node.GetInt("storage_order", 0) != 0) throw c.Error("storage_order 1 has no gradient rule");
        if (TilingWindows(c) is { } tiles) return [ByMask(c, tiles)];
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

    /// <summary>Output sizes when square 2-D windows tile the input without overlap or gaps between them: kernel =
    /// strides = [k, k], dilations 1, no pads (explicit, VALID, or SAME where it pads nothing), floor mode, static
    /// spatial dims. The MaxPool this rule serves needs no Indices output, whose kernel ONNX Runtime runs far slower
    /// than the plain pool's (bench train-step --profile: the indexed pool and its ScatterElements were 41% of the seed
    /// CNN's step).</summary>
    private static long[]? TilingWindows(GradientContext c)
    {
        var node = c.Node;
        var x = c.X(0);
        var spatial = x.Shape.Skip(2);
        if (x.Rank != 4 || !spatial.IsFullyKnown) return null;
        if (Window.SquareTiling(node.GetInts("kernel_shape"), node.GetInts("strides") ?? [1, 1], node.GetInts("dilations"), node.GetInts("pads"),
                node.GetInt("ceil_mode", 0)) is not { } k)
            return null;
        if (node.GetString("auto_pad", "NOTSET") is "SAME_UPPER" or "SAME_LOWER" && spatial.ToArray().Any(d => d % k != 0)) return null;
        return spatial.ToArray().Select(d => d / k).ToArray();
    }

    /// <summary>Y and the tie-shared dY brought back to the input's size by nearest Resize (integer scales k: exact, and
    /// ONNX Runtime runs 2× as a plain copy loop), or by a MatMul for small planes whose windows leave rows or columns out
    /// (<see cref="UpByMatMul"/>), mask = [X = Y↑], ties = k²·AveragePool(mask), dX = mask·(dY/ties)↑.
    /// Every op sees same-shape NCHW tensors or a pooling kernel. Two earlier forms were slower (bench train-step
    /// --profile): Equal/Where broadcast along inner size-k axes ([N, C, o₁, k, o₂, k] against [N, C, o₁, 1, o₂, 1]),
    /// which ONNX Runtime runs element by element, and the window offsets as channel blocks through SpaceToDepth and
    /// DepthToSpace, whose generic transposes took 17% of the seed CNN's step.</summary>
    private static Value ByMask(GradientContext c, long[] outSizes)
    {
        var g = c.Graph;
        var x = c.X(0);
        var k = c.Node.GetInts("kernel_shape")![0];
        var sizes = x.Shape.Skip(2).ToArray();
        long[] covered = [outSizes[0] * k, outSizes[1] * k];
        var leftover = sizes[0] != covered[0] || sizes[1] != covered[1];
        Func<Value, Value> up;
        var xc = x;
        if (leftover && outSizes[0] * outSizes[1] <= MaxPooledPositionsForMatMul)
            up = UpByMatMul(g, x, k, outSizes, sizes);
        else
        {
            if (leftover) xc = g.Slice(x, [0, 0], covered, [2, 3]);
            var scales = g.Constant([1f, 1f, k, k], [4], "scales");
            up = v => g.Node1("Resize", [v, null, scales], [Attr.String("mode", "nearest"),
                Attr.String("coordinate_transformation_mode", "asymmetric"), Attr.String("nearest_mode", "floor")]);
        }
        var mask = g.Cast(g.Compare("Equal", xc, up(c.Y())), x.DType);
        var window = g.Node1("AveragePool", [mask], [Attr.Ints("kernel_shape", [k, k]), Attr.Ints("strides", [k, k])]);
        var share = g.Div(c.DY(), g.Scale(window, k * k));
        var dx = g.Mul(mask, up(share));
        if (xc != x) dx = g.Node1("Pad", [dx, g.Ints("pads", [0, 0, 0, 0, 0, 0, sizes[0] - covered[0], sizes[1] - covered[1]])]);
        return g.ReshapeLike(dx, x);
    }

    /// <summary>Pooled planes of at most this many positions come back to the input's size by a MatMul when the windows
    /// leave rows or columns out.</summary>
    public const long MaxPooledPositionsForMatMul = 64;

    /// <summary>Upsampling to the whole input, zeros where no window reached, as one MatMul of each [o₁·o₂] plane with a
    /// constant 0/1 [o₁·o₂, h·w] matrix. The other form crops X for the mask and pads dX back, and ONNX Runtime's Pad
    /// takes ~1 ms for the seed CNN's [64, 64, 10, 10] → [11, 11] (rows of ten floats): more than the pool's whole
    /// gradient. Zeros at the leftover positions give them no gradient whatever the mask says there.</summary>
    private static Func<Value, Value> UpByMatMul(GraphBuilder g, Value x, long k, long[] outSizes, long[] sizes)
    {
        long pooled = outSizes[0] * outSizes[1], plane = sizes[0] * sizes[1];
        var spread = new float[pooled * plane];
        for (long i = 0; i < outSizes[0] * k; i++)
            for (long j = 0; j < outSizes[1] * k; j++)
                spread[(i / k * outSizes[1] + j / k) * plane + i * sizes[1] + j] = 1;
        var matrix = g.Constant(spread, [pooled, plane], "upsample");
        if (x.DType != DataType.Float) matrix = g.Cast(matrix, x.DType);
        return v => g.ReshapeLike(g.MatMul(g.Reshape(v, -1, pooled), matrix), x);
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
        var geo = ConvGeometry.Of(c, x, Shape.Of(kernel), c.Y());
        var n = geo.N;
        var includePad = c.Node.GetInt("count_include_pad", 0) != 0;
        if (!geo.IsStatic) return [Symbolic(c, geo, includePad)];
        var (sizeIn, sizeOut, padAt) = (geo.In!, geo.Out!, geo.Pads!);
        // Divisor of each output position: the window clipped to the input (or to the padded input).
        var outCount = (int)sizeOut.Aggregate(1L, (p, d) => p * d);
        var divisor = new double[outCount];
        for (var flat = 0; flat < outCount; flat++)
        {
            var rest = flat;
            double count = 1;
            for (var i = n - 1; i >= 0; i--)
            {
                var o = rest % sizeOut[i];
                rest /= (int)sizeOut[i];
                var start = o * geo.Strides[i] - padAt[i];
                var end = Math.Min(start + geo.Kernel[i], sizeIn[i] + padAt[i + n]);
                if (!includePad) { start = Math.Max(start, 0); end = Math.Min(end, sizeIn[i]); }
                count *= Math.Max(1, end - start);
            }
            divisor[flat] = count;
        }
        long[] divDims = [1, 1, .. sizeOut];
        var div = x.DType == DataType.Double
            ? g.Constant(Tensors.Create("divisor", divisor, divDims), "divisor")
            : g.Cast(g.Constant(Tensors.Create("divisor", divisor.Select(d => (float)d).ToArray(), divDims), "divisor"), x.DType);
        var scaled = g.Reshape(g.Div(dy, div), [-1, 1, .. sizeOut]);
        var full = Enumerable.Range(0, n).Select(i => (sizeOut[i] - 1) * geo.Strides[i] + geo.Kernel[i]).ToArray();
        var needed = Enumerable.Range(0, n).Select(i => sizeIn[i] + padAt[i] + padAt[i + n]).ToArray();
        long[] pads = [.. padAt.Take(n), .. Enumerable.Range(0, n).Select(i => padAt[i + n] + Math.Max(0, full[i] - needed[i]))];
        var outputPadding = Enumerable.Range(0, n).Select(i => Math.Max(0, needed[i] - full[i])).ToArray();
        var ones = Enumerable.Repeat(1.0, (int)kernel.Aggregate(1L, (p, k) => p * k)).ToArray();
        long[] onesDims = [1, 1, .. kernel];
        var w = x.DType == DataType.Double
            ? g.Constant(Tensors.Create("ones", ones, onesDims), "ones")
            : g.Cast(g.Constant(Tensors.Create("ones", ones.Select(d => (float)d).ToArray(), onesDims), "ones"), x.DType);
        var dx = g.Node1("ConvTranspose", [scaled, w], [Attr.Ints("strides", geo.Strides), Attr.Ints("pads", pads), Attr.Ints("output_padding", outputPadding)]);
        return [g.ReshapeLike(dx, x)];
    }

    /// <summary>Symbolic spatial dims: divisor = in-input count of each window, Conv(ones, ones) with the forward's
    /// window (or the kernel size when padding counts), and the transposed convolution cropped at run time.</summary>
    private static Value Symbolic(GradientContext c, ConvGeometry geo, bool includePad)
    {
        var g = c.Graph;
        var x = c.X(0);
        if (c.Node.GetInt("ceil_mode", 0) != 0) throw c.Error($"ceil_mode with symbolic spatial dims {x.Shape} has no gradient rule");
        long[] onesDims = [1, 1, .. geo.Kernel];
        var count = geo.Kernel.Aggregate(1L, (p, k) => p * k);
        var ones = g.Cast(g.Constant(Enumerable.Repeat(1f, (int)count).ToArray(), onesDims, "ones"), x.DType);
        Value divisor;
        if (includePad || geo.Pads is { } p && p.All(v => v == 0)) divisor = g.Scalar(count, x.DType);
        else
        {
            var plane = g.Node1("ConstantOfShape", [g.IntVector([1L, 1L, geo.InDims])], [Attr.Tensor("value", OneTensor(x.DType))]);
            var window = c.Node.Attribute.Where(a => a.Name is "kernel_shape" or "strides" or "pads" or "auto_pad");
            divisor = g.Node1("Conv", [plane, ones], window, name: "WindowCount");
        }
        var scaled = g.Reshape(g.Div(c.DY(), divisor), [-1, 1, .. Enumerable.Repeat(0L, geo.N)]);
        return g.ReshapeLike(geo.TransposedToInput(scaled, ones, 1), x);
    }

    private static global::Onnx.TensorProto OneTensor(DataType dtype) =>
        dtype == DataType.Double ? Tensors.Create("one", [1.0], 1) : Tensors.Create("one", [1f], 1);
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

    /// <summary>Y = mean over spatial dims; dX = expand(dY)/count (Size(X)/Size(Y) when a spatial dim is symbolic)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var spatial = x.Shape.Skip(2);
        var scaled = spatial.IsFullyKnown
            ? g.Scale(c.DY(), 1.0 / spatial.ElementCount!.Value)
            : g.Div(c.DY(), g.CountRatio(x, c.Y(), Enumerable.Range(2, x.Rank - 2).Select(a => (long)a)));
        return [g.ExpandLike(scaled, x)];
    }
}

public sealed class GlobalMaxPoolOp : GlobalPoolOp
{
    public override string Type => "GlobalMaxPool";

    /// <summary>Y = max over spatial dims; dX = [X = Y]·dY/ties (tied maxima share dY, as in ReduceMax)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var selected = g.Cast(g.Compare("Equal", x, c.Y()), x.DType);
        return [g.Mul(selected, g.Div(c.DY(), g.ReduceSum(selected, Enumerable.Range(2, x.Rank - 2).Select(a => (long)a), keepDims: true)))];
    }
}

/// <summary>Window geometry of a node for its gradient. Kernel, strides and dilations are attributes; spatial sizes and
/// pads are static arrays where the shapes allow (null otherwise), and read from the graph at run time (Shape of the
/// window's input and output) where they do not, so the same rules serve symbolic lengths.</summary>
internal sealed class ConvGeometry
{
    private readonly GraphBuilder _g;
    private readonly Value _input;
    private readonly Value _output;
    private readonly bool _upper;
    private Value? _inDims, _outDims, _padBegins, _padEnds;

    private ConvGeometry(GraphBuilder g, Value input, Value output, long[] kernel, long[] strides, long[] dilations, long[]? pads, bool upper)
    {
        _g = g;
        _input = input;
        _output = output;
        _upper = upper;
        N = kernel.Length;
        Kernel = kernel;
        Strides = strides;
        Dilations = dilations;
        Pads = pads;
        var spatialIn = input.Shape.Skip(2);
        var spatialOut = output.Shape.Skip(2);
        In = spatialIn.IsFullyKnown ? spatialIn.ToArray() : null;
        Out = spatialOut.IsFullyKnown ? spatialOut.ToArray() : null;
    }

    public int N { get; }
    public long[] Kernel { get; }
    public long[] Strides { get; }
    public long[] Dilations { get; }
    /// <summary>Spatial sizes of the window's input and output, when static.</summary>
    public long[]? In { get; }
    public long[]? Out { get; }
    /// <summary>[begins…, ends…], when static (explicit, VALID, or SAME where they do not depend on a symbolic size).</summary>
    public long[]? Pads { get; }
    public bool IsStatic => In is not null && Out is not null && Pads is not null;

    /// <param name="input">The window's input (Conv's X; for ConvTranspose its output Y, whose gradient is the input
    /// of the adjoint window).</param>
    /// <param name="output">The window's output (Conv's Y; ConvTranspose's X).</param>
    public static ConvGeometry Of(GradientContext c, Value input, Shape kernelShape, Value output)
    {
        var node = c.Node;
        if (!kernelShape.IsFullyKnown) throw c.Error($"kernel shape {kernelShape} must be static");
        var kernel = node.GetInts("kernel_shape") ?? kernelShape.ToArray();
        var n = kernel.Length;
        var strides = node.GetInts("strides") ?? Enumerable.Repeat(1L, n).ToArray();
        var dilations = node.GetInts("dilations") ?? Enumerable.Repeat(1L, n).ToArray();
        long[]? pads = node.GetInts("pads") ?? new long[2 * n];
        var autoPad = node.GetString("auto_pad", "NOTSET");
        if (autoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            // SAME pads depend on the input size, except at stride 1 (they total the window's extent − 1).
            pads = new long[2 * n];
            for (var i = 0; i < n && pads is not null; i++)
            {
                var d = input.Shape[i + 2];
                if (!d.IsKnown && strides[i] != 1) { pads = null; break; }
                (pads[i], pads[i + n]) = ShapeMath.SamePads(d.Value ?? 1, kernel[i], strides[i], dilations[i], autoPad == "SAME_UPPER");
            }
        }
        else if (autoPad == "VALID") pads = new long[2 * n];
        return new ConvGeometry(c.Graph, input, output, kernel, strides, dilations, pads, autoPad != "SAME_LOWER");
    }

    public IEnumerable<global::Onnx.AttributeProto> Attributes(long group) =>
        [Attr.Ints("strides", Strides), Attr.Ints("dilations", Dilations), Attr.Ints("pads", Pads ?? throw new GraphException("pads are not static")), Attr.Int("group", group)];

    private long[] Axes => Enumerable.Range(2, N).Select(a => (long)a).ToArray();

    /// <summary>Spatial sizes of the window's input (int64, 1-D): a constant when static, else Shape(input)[2:].</summary>
    public Value InDims => _inDims ??= In is { } a ? _g.Ints("in_dims", a) : _g.ShapeOf(_input, 2);
    public Value OutDims => _outDims ??= Out is { } a ? _g.Ints("out_dims", a) : _g.ShapeOf(_output, 2);

    /// <summary>Pads before each spatial axis (int64, 1-D).</summary>
    public Value PadBegins
    {
        get
        {
            if (_padBegins is null) (_padBegins, _padEnds) = PadValues();
            return _padBegins;
        }
    }

    public Value PadEnds
    {
        get
        {
            if (_padEnds is null) (_padBegins, _padEnds) = PadValues();
            return _padEnds!;
        }
    }

    /// <summary>Static pads as constants; SAME pads of a symbolic size: total = max(0, (out − 1)·s + (k − 1)·d + 1 − in),
    /// the odd one at the end (SAME_UPPER) or the beginning (SAME_LOWER).</summary>
    private (Value Begins, Value Ends) PadValues()
    {
        var g = _g;
        if (Pads is { } p) return (g.Ints("pad_begins", p.Take(N).ToArray()), g.Ints("pad_ends", p.Skip(N).ToArray()));
        var reach = Enumerable.Range(0, N).Select(i => (Kernel[i] - 1) * Dilations[i] + 1 - Strides[i]).ToArray();
        var total = g.Node1("Max", [g.Sub(g.Add(g.Mul(OutDims, g.Ints("strides", Strides)), g.Ints("reach", reach)), InDims), g.Ints("zero", new long[N])]);
        var small = g.Div(total, g.Ints("two", Enumerable.Repeat(2L, N).ToArray()));
        var large = g.Sub(total, small);
        return _upper ? (small, large) : (large, small);
    }

    /// <summary>The input padded as the forward window sees it.</summary>
    public Value Padded(Value input)
    {
        if (Pads is { } p)
            return p.Any(v => v != 0) ? _g.Node1("Pad", [input, _g.Ints("pads", [0, 0, .. p.Take(N), 0, 0, .. p.Skip(N)])]) : input;
        return _g.Node1("Pad", [input, _g.IntVector([0L, 0L, PadBegins, 0L, 0L, PadEnds])]);
    }

    /// <summary>The adjoint of the window for the data gradient: ConvTranspose(dOut, w) covering exactly the input.
    /// Static geometry: pads and output_padding (the input the last window left unread) as constants. Stride 1 with
    /// static pads: the pads alone give the input size. Otherwise the full transposed convolution (output_padding
    /// s − 1 reaches every input position) is cropped to [pad_begin, pad_begin + in) at run time.</summary>
    public Value TransposedToInput(Value dOut, Value w, long group)
    {
        var g = _g;
        if (IsStatic)
        {
            var outputPadding = Enumerable.Range(0, N).Select(i =>
                In![i] + Pads![i] + Pads[i + N] - ((Out![i] - 1) * Strides[i] + (Kernel[i] - 1) * Dilations[i] + 1)).ToArray();
            return g.Node1("ConvTranspose", [dOut, w], [.. Attributes(group), Attr.Ints("output_padding", outputPadding)]);
        }
        if (Pads is not null && Strides.All(s => s == 1)) return g.Node1("ConvTranspose", [dOut, w], Attributes(group));
        var full = g.Node1("ConvTranspose", [dOut, w], [Attr.Ints("strides", Strides), Attr.Ints("dilations", Dilations),
            Attr.Ints("pads", new long[2 * N]), Attr.Int("group", group), Attr.Ints("output_padding", Strides.Select(s => s - 1))]);
        return g.Node1("Slice", [full, PadBegins, g.Add(PadBegins, InDims), g.Ints("axes", Axes)]);
    }

    /// <summary>Ends of the strided Slice that reads one kernel offset's input for every output position: start +
    /// (out − 1)·s + 1. Constants when the output is static; at stride 1 with static pads the padded input holds
    /// exactly out + extent − 1 positions, so the end is a constant counted from the back; else computed at run time.</summary>
    private Func<long[], Value> SliceEnds()
    {
        var g = _g;
        if (Out is { } o) return starts => g.Ints("ends", starts.Select((st, i) => st + (o[i] - 1) * Strides[i] + 1).ToArray());
        if (Pads is not null && Strides.All(s => s == 1))
            return starts => g.Ints("ends", starts.Select((st, i) => st == (Kernel[i] - 1) * Dilations[i] ? long.MaxValue : st - (Kernel[i] - 1) * Dilations[i]).ToArray());
        Value? span = null;
        return starts =>
        {
            span ??= g.Sub(g.Mul(OutDims, g.Ints("strides", Strides)), g.Ints("stride_less_one", Strides.Select(s => s - 1).ToArray()));
            return g.Add(span, g.Ints("starts", starts));
        };
    }

    /// <summary>dW = Transpose(Conv(Transpose(Xpad), Transpose(dOut), strides = d, dilations = s)) cropped to the kernel:
    /// the batch becomes the reduced channel axis (group 1 only).</summary>
    public static Value WeightGradientByConv(GraphBuilder g, Value input, Value dOut, ConvGeometry geo, Value w)
    {
        var n = geo.N;
        var xp = geo.Padded(input);
        long[] swap = [1, 0, .. Enumerable.Range(2, n).Select(a => (long)a)];
        var full = g.Node1("Conv", [g.Transpose(xp, swap), g.Transpose(dOut, swap)],
            [Attr.Ints("strides", geo.Dilations), Attr.Ints("dilations", geo.Strides)]);
        // Leftover input the forward windows never reached makes the result larger than the kernel.
        var spatial = full.Shape.Skip(2);
        if (!spatial.IsFullyKnown || spatial.ToArray().Where((d, i) => d != geo.Kernel[i]).Any())
            full = g.Slice(full, new long[n], geo.Kernel, geo.Axes);
        return g.ReshapeLike(g.Transpose(full, swap), w);
    }

    /// <summary>dW[m, c, k] = Σ_{n,p} dOut[n, m, p]·Xpad[n, c, p·s + k·d]: the kernel offsets as strided Slices of the
    /// padded input (im2col), then one Gemm (one batched MatMul with groups) against the output gradient. With one group
    /// the input is first transposed to [C, N, …] (the small tensor), so the columns come out as [C·K, N·P], Gemm's
    /// layout, instead of transposing the k-times larger columns. Channels come from the weight [cout, cin/group, k…],
    /// which is static even when the data's dims are not.</summary>
    public static Value WeightGradient(GraphBuilder g, Value input, Value dOut, ConvGeometry geo, long group, Value w, long gatherFromChannels)
    {
        var n = geo.N;
        if (!w.Shape.IsFullyKnown) throw new GraphException($"weight '{w.Name}' {w.Shape} must be static for its gradient");
        var cin = w.Shape[1].Known * group;
        var cout = w.Shape[0].Known;
        var kCount = (int)geo.Kernel.Aggregate(1L, (p, k) => p * k);
        var ck = cin / group * kCount;
        long[] swap = [1, 0, .. geo.Axes];
        var xp = geo.Padded(input);
        if (group == 1 && geo.IsStatic && cin >= gatherFromChannels && geo.Out!.Aggregate(1L, (a, b) => a * b) * kCount <= MaxGatherTable)
            return ByGather(g, xp, dOut, geo, w, cin, cout, kCount);
        if (group == 1)
        {
            var dyT = g.Reshape(g.Transpose(dOut, swap), cout, -1); // [M, N·P]
            // One input channel: [N, 1, …] and [1, N, …] hold the data in the same order, and a Reshape does not copy.
            var xT = cin == 1 ? g.Reshape(xp, [1, -1, .. Enumerable.Repeat(0L, n)]) : g.Transpose(xp, swap);
            var colsT = g.Reshape(Columns(g, xT, geo, kCount, 1), ck, -1); // [C·K, N·P]
            return g.ReshapeLike(g.Node1("Gemm", [dyT, colsT], [Attr.Int("transB", 1)]), w);
        }
        var cols = Columns(g, xp, geo, kCount, 2); // [N, Cin, K, out...]
        var colsG = g.Transpose(g.Reshape(cols, 0, group, ck, -1), 0, 1, 3, 2);
        var dyG = g.Reshape(dOut, 0, group, cout / group, -1);
        return g.ReshapeLike(g.ReduceSum(g.MatMul(dyG, colsG), [0], keepDims: false), w);
    }

    /// <summary>Largest weight (output channels × input channels × kernel taps) whose gradient is taken per sample.</summary>
    public const long MaxPerSampleWeight = 1024;

    /// <summary>dW and dB of a small one-group kernel over few input channels (a first layer over pixels), per sample:
    /// [dW | dB]_n = dOut_n·[cols_n; 1]ᵀ as one batched MatMul, summed over the batch. The row of ones folds the bias
    /// gradient into the product, so dOut is read once, and no transpose of dOut to [M, N·P] is needed. Null where the
    /// other forms apply (gathered columns, larger kernels).</summary>
    public static (Value Weight, Value? Bias)? PerSampleWeightGradient(GraphBuilder g, Value input, Value dOut, ConvGeometry geo, Value w, bool bias,
        long gatherFromChannels)
    {
        if (!w.Shape.IsFullyKnown || input.Rank != geo.N + 2) return null;
        var cin = w.Shape[1].Known;
        var cout = w.Shape[0].Known;
        var kCount = (int)geo.Kernel.Aggregate(1L, (p, k) => p * k);
        var ck = cin * kCount;
        if (cin >= gatherFromChannels || cout * ck > MaxPerSampleWeight) return null;
        var cols = g.Reshape(Columns(g, geo.Padded(input), geo, kCount, 2), 0, ck, -1);       // [N, C·K, P]
        if (bias)
        {
            object Dim(int axis) => cols.Shape[axis].IsKnown ? cols.Shape[axis].Known : g.ShapeOf(cols, axis, axis + 1);
            var ones = g.Node1("ConstantOfShape", [g.IntVector([Dim(0), 1L, Dim(2)])],
                [Attr.Tensor("value", Tensors.Create("one", [1f], 1))]);
            cols = g.Concat([cols, g.Cast(ones, input.DType)], 1);                                  // [N, C·K + 1, P]
        }
        var sums = g.ReduceSum(g.MatMul(g.Reshape(dOut, 0, cout, -1), g.Transpose(cols, 0, 2, 1)), [0], keepDims: false);
        if (!bias) return (g.ReshapeLike(sums, w), null);
        var dw = g.ReshapeLike(g.Slice(sums, [0], [ck], [1]), w);
        return (dw, g.Reshape(g.Slice(sums, [ck], [ck + 1], [1]), -1));
    }

    /// <summary>Entries of the constant position table a gathered im2col may carry (int32: 8 MiB in the training graph);
    /// larger windows (e.g. a 7×7 kernel over a 224×224 output: 2.5M entries) keep the Slices.</summary>
    private const long MaxGatherTable = 1 << 21;

    /// <summary>im2col as one Gather of rows picked by a constant table of flat padded positions (p·s + k·d per axis),
    /// then dW from one Gemm against dY. Two layouts: where the weight is large against the output gradient (deep
    /// layers over few positions), the batch innermost: the input as [C, spatial, N], rows of N, columns
    /// [C·K, P·N] in the weight's (c, k) order, so the Gemm gives [M, C, K…] itself; a weight-sized transpose (which
    /// ONNX Runtime then copied once more for the optimizer) took ~11 ms of a ResNet18 layer4 step per 512×512×3×3
    /// kernel. Elsewhere channels last: the input as [N, spatial, C], columns [N·P, K·C], and the product's [M, K, C]
    /// turned to [M, C, K], cheaper than gathering rows of N and moving the output gradient element by element to
    /// [M, P, N]. Three same-padded 3×3 convolutions, batch 16, steps alternating: 512 channels at 7×7 143 against
    /// 167 ms with the batch innermost; 256 at 14×14 and 128 at 28×28 2% and 8% faster channels last.</summary>
    private static Value ByGather(GraphBuilder g, Value xp, Value dOut, ConvGeometry geo, Value w, long cin, long cout, int kCount)
    {
        var n = geo.N;
        var padded = Enumerable.Range(0, n).Select(i => geo.In![i] + geo.Pads![i] + geo.Pads[i + n]).ToArray();
        var outSizes = geo.Out!;
        var positions = outSizes.Aggregate(1L, (a, b) => a * b);
        // The batch is often symbolic here: the choice takes it as 32.
        var batchInnermost = 2 * cin * kCount >= 32 * positions;
        var table = new int[positions * kCount];
        for (var p = 0L; p < positions; p++)
            for (var k = 0; k < kCount; k++)
            {
                long flat = 0, restP = p, restK = k;
                var coords = new long[n];
                for (var i = n - 1; i >= 0; i--)
                {
                    coords[i] = restP % outSizes[i] * geo.Strides[i] + restK % geo.Kernel[i] * geo.Dilations[i];
                    restP /= outSizes[i];
                    restK /= geo.Kernel[i];
                }
                for (var i = 0; i < n; i++) flat = flat * padded[i] + coords[i];
                table[batchInnermost ? k * positions + p : p * kCount + k] = checked((int)flat);
            }
        var im2col = g.Constant(batchInnermost
            ? Tensors.Create("im2col", table, kCount, positions)
            : Tensors.Create("im2col", table, positions, kCount), "im2col");
        if (batchInnermost)
        {
            long[] batchLast = [1, .. geo.Axes, 0];
            var xc = g.Reshape(g.Transpose(xp, batchLast), cin, padded.Aggregate(1L, (a, b) => a * b), -1);            // [C, S, N]
            var cols = g.Reshape(g.Node1("Gather", [xc, im2col], [Attr.Int("axis", 1)]), cin * kCount, -1);              // [C·K, P·N]
            var dy = g.Reshape(g.Transpose(dOut, batchLast), cout, -1);                                                   // [M, P·N]
            return g.ReshapeLike(g.Node1("Gemm", [dy, cols], [Attr.Int("transB", 1)]), w);
        }
        long[] toLast = [0, .. geo.Axes, 1];
        var xh = g.Reshape(g.Transpose(xp, toLast), 0, -1, cin);
        var rows = g.Reshape(g.Node1("Gather", [xh, im2col], [Attr.Int("axis", 1)]), -1, kCount * cin);                   // [N·P, K·C]
        var dwt = g.Node1("Gemm", [g.Reshape(g.Transpose(dOut, [1, 0, .. geo.Axes]), cout, -1), rows]);                  // [M, N·P]·[N·P, K·C]
        long[] toFirst = [0, n + 1, .. Enumerable.Range(1, n).Select(a => (long)a)];
        return g.ReshapeLike(g.Transpose(g.Reshape(dwt, [cout, .. geo.Kernel, cin]), toFirst), w);
    }

    /// <summary>im2col: one strided Slice of the spatial axes per kernel offset, stacked along a new axis at
    /// <paramref name="at"/> (offsets in row-major kernel order, the weight's).</summary>
    private static Value Columns(GraphBuilder g, Value xp, ConvGeometry geo, int kCount, int at) =>
        g.Concat(Slices(g, xp, geo, kCount).Select(s => g.Unsqueeze(s, at)).ToList(), at);

    /// <summary>The padded input each kernel offset reads, one strided Slice per offset in row-major kernel order.</summary>
    private static IEnumerable<Value> Slices(GraphBuilder g, Value xp, ConvGeometry geo, int kCount)
    {
        var n = geo.N;
        var ends = geo.SliceEnds();
        for (var flat = 0; flat < kCount; flat++)
        {
            var offset = new long[n];
            var rest = flat;
            for (var i = n - 1; i >= 0; i--) { offset[i] = rest % geo.Kernel[i]; rest /= (int)geo.Kernel[i]; }
            var starts = offset.Select((o, i) => o * geo.Dilations[i]).ToArray();
            yield return g.Node1("Slice", [xp, g.Ints("starts", starts), ends(starts), g.Ints("axes", geo.Axes), g.Ints("steps", geo.Strides)]);
        }
    }
}
