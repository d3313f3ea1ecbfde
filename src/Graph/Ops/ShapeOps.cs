using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Ops;

/// <summary>Reshape(X, shape): 0 copies the input dim (allowzero=0), −1 is inferred.</summary>
public sealed class ReshapeOp : Op
{
    public override string Type => "Reshape";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var target = ctx.ConstantLongs(1);
        if (target is null)
        {
            var rank = ctx.Input(1).Shape[0];
            return [new TensorType(x.DType, rank.IsKnown ? new Shape(Enumerable.Repeat(Dim.Unknown, (int)rank.Known)) : Shape.Scalar)];
        }
        var dims = target.Select((t, i) => t == 0 && ctx.Node.GetInt("allowzero", 0) == 0 ? x.Shape[i] : t == -1 ? Dim.Unknown : Dim.Of(t)).ToArray();
        var inferAt = Array.IndexOf(target, -1L);
        if (target.Count(t => t == -1) > 1) throw ctx.Error("at most one -1 in a reshape target");
        if (inferAt >= 0 && x.Shape.IsFullyKnown && dims.Where((_, i) => i != inferAt).All(d => d.IsKnown))
        {
            var rest = dims.Where((_, i) => i != inferAt).Aggregate(1L, (p, d) => p * d.Known);
            if (rest == 0 || x.Shape.ElementCount!.Value % rest != 0)
                throw ctx.Error($"cannot reshape {x.Shape} into [{string.Join(",", target)}]");
            dims[inferAt] = x.Shape.ElementCount!.Value / rest;
        }
        else if (inferAt >= 0)
        {
            // Per-sample size known and a symbolic batch kept in front: −1 takes the batch symbol.
            var known = x.Shape.Dims.Where(d => d.IsKnown).Aggregate(1L, (p, d) => p * d.Known);
            var unknownIn = x.Shape.Dims.Where(d => !d.IsKnown).ToList();
            var knownOut = dims.Where((d, i) => i != inferAt && d.IsKnown).Aggregate(1L, (p, d) => p * d.Known);
            var unknownOut = dims.Where((d, i) => i != inferAt && !d.IsKnown).ToList();
            if (unknownIn.Count == 1 && unknownOut.Count == 0 && known == knownOut) dims[inferAt] = unknownIn[0];
            else if (unknownIn.Count == 1 && unknownOut.Count == 1 && unknownOut[0] == unknownIn[0] && known % knownOut == 0)
                dims[inferAt] = known / knownOut;
        }
        else if (x.Shape.IsFullyKnown && dims.All(d => d.IsKnown) && dims.Aggregate(1L, (p, d) => p * d.Known) != x.Shape.ElementCount)
            throw ctx.Error($"cannot reshape {x.Shape} into [{string.Join(",", target)}]");
        return [new TensorType(x.DType, new Shape(dims))];
    }

    /// <summary>Y = reshape(X); dX = reshape(dY, shape(X))</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c) => [c.Graph.ReshapeLike(c.DY(), c.X(0)), null];
}

/// <summary>Flatten(X, axis) → 2-D [prod(dims before axis), prod(dims from axis)].</summary>
public sealed class FlattenOp : Op
{
    public override string Type => "Flatten";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var axis = (int)ctx.Node.GetInt("axis", 1);
        if (axis < 0) axis += x.Shape.Rank;
        var outer = x.Shape.Dims.Take(axis).Aggregate(Dim.Of(1), (p, d) => p * d);
        var inner = x.Shape.Dims.Skip(axis).Aggregate(Dim.Of(1), (p, d) => p * d);
        return [new TensorType(x.DType, Shape.Of(outer, inner))];
    }

    /// <summary>Y = flatten(X); dX = reshape(dY, shape(X))</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c) => [c.Graph.ReshapeLike(c.DY(), c.X(0)), null];
}

public sealed class TransposeOp : Op
{
    public override string Type => "Transpose";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var perm = ShapeMath.Permutation(ctx.Node.GetInts("perm"), x.Shape.Rank);
        if (perm.Length != x.Shape.Rank) throw ctx.Error($"perm [{string.Join(",", perm)}] does not fit rank {x.Shape.Rank}");
        return [new TensorType(x.DType, new Shape(perm.Select(p => x.Shape[(int)p])))];
    }

    /// <summary>Y = transpose(X, p); dX = transpose(dY, p⁻¹)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var perm = ShapeMath.Permutation(c.Node.GetInts("perm"), c.X(0).Rank);
        var inverse = new long[perm.Length];
        for (var i = 0; i < perm.Length; i++) inverse[perm[i]] = i;
        return [c.Graph.Transpose(c.DY(), inverse)];
    }
}

/// <summary>Squeeze(X, axes?) — without axes every 1 is removed.</summary>
public sealed class SqueezeOp : Op
{
    public override string Type => "Squeeze";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var axes = (ctx.ConstantLongs(1) ?? ctx.Node.GetInts("axes"))?.Select(a => x.Shape.NormalizeAxis(a)).ToHashSet();
        if (axes is null && ctx.HasInput(1)) throw ctx.Error("axes must be a constant");
        var dims = x.Shape.Dims.Where((d, i) => axes is null ? d.Value != 1 : !axes.Contains(i));
        return [new TensorType(x.DType, new Shape(dims))];
    }

    /// <summary>Y = squeeze(X); dX = reshape(dY, shape(X))</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c) => [c.Graph.ReshapeLike(c.DY(), c.X(0)), null];
}

public sealed class UnsqueezeOp : Op
{
    public override string Type => "Unsqueeze";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var axes = ctx.ConstantLongs(1) ?? ctx.Node.GetInts("axes") ?? throw ctx.Error("axes must be a constant");
        var rank = x.Shape.Rank + axes.Length;
        var set = axes.Select(a => (int)(a < 0 ? a + rank : a)).ToHashSet();
        var dims = new List<Dim>();
        var k = 0;
        for (var i = 0; i < rank; i++) dims.Add(set.Contains(i) ? Dim.Of(1) : x.Shape[k++]);
        return [new TensorType(x.DType, new Shape(dims))];
    }

    /// <summary>Y = unsqueeze(X); dX = reshape(dY, shape(X))</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c) => [c.Graph.ReshapeLike(c.DY(), c.X(0)), null];
}

public sealed class ConcatOp : Op
{
    public override string Type => "Concat";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var first = ctx.Input(0);
        var axis = first.Shape.NormalizeAxis(ctx.Node.GetInt("axis", 0));
        var total = Dim.Of(0);
        var dims = first.Shape.Dims.ToArray();
        for (var i = 0; i < ctx.InputCount; i++)
        {
            var s = ctx.Input(i).Shape;
            if (s.Rank != first.Shape.Rank) throw ctx.Error($"inputs of rank {first.Shape.Rank} and {s.Rank} cannot be concatenated");
            for (var k = 0; k < s.Rank; k++)
            {
                if (k == axis) continue;
                if (s[k].IsKnown && dims[k].IsKnown && s[k].Known != dims[k].Known)
                    throw ctx.Error($"shapes {first.Shape} and {s} differ outside axis {axis}");
                if (!dims[k].IsKnown && s[k].IsKnown) dims[k] = s[k];
            }
            total = total.IsKnown && s[axis].IsKnown ? Dim.Of(total.Known + s[axis].Known) : Dim.Unknown;
        }
        dims[axis] = total;
        return [new TensorType(first.DType, new Shape(dims))];
    }

    /// <summary>Y = concat(Xᵢ, axis); dXᵢ = split(dY, sizes(Xᵢ), axis)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var axis = c.Y().Shape.NormalizeAxis(c.Node.GetInt("axis", 0));
        var sizes = c.Inputs.Select(x => x!.Shape[axis]).ToList();
        if (sizes.Any(d => !d.IsKnown)) throw c.Error($"sizes along axis {axis} must be static");
        if (c.Inputs.Count == 1) return [c.DY()];
        var parts = g.Node("Split", [c.DY(), g.Ints("split", sizes.Select(d => d.Known).ToArray())], [Attr.Int("axis", axis)], c.Inputs.Count);
        return parts.Select((p, i) => c.Needs(i) ? p : null).ToList();
    }
}

/// <summary>Split(X, split?) along axis into the node's outputs (equal parts when split is omitted).</summary>
public sealed class SplitOp : Op
{
    public override string Type => "Split";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var axis = x.Shape.NormalizeAxis(ctx.Node.GetInt("axis", 0));
        var count = ctx.Node.Output.Count;
        var split = ctx.ConstantLongs(1) ?? ctx.Node.GetInts("split");
        if (split is null)
        {
            if (!x.Shape[axis].IsKnown) return Enumerable.Repeat(new TensorType(x.DType, x.Shape.WithDim(axis, Dim.Unknown)), count).ToList();
            if (x.Shape[axis].Known % count != 0) throw ctx.Error($"axis {axis} of {x.Shape} does not split into {count} equal parts");
            split = Enumerable.Repeat(x.Shape[axis].Known / count, count).ToArray();
        }
        if (split.Length != count) throw ctx.Error($"split has {split.Length} parts for {count} outputs");
        return split.Select(s => new TensorType(x.DType, x.Shape.WithDim(axis, s))).ToList();
    }

    /// <summary>Yᵢ = split(X, axis); dX = concat(dYᵢ or zeros, axis)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var axis = c.X(0).Shape.NormalizeAxis(c.Node.GetInt("axis", 0));
        var parts = Enumerable.Range(0, c.Outputs.Count).Select(i => c.OutputGradients[i] ?? g.ZerosLike(c.Y(i))).ToList();
        return [g.Concat(parts, axis), null];
    }
}

/// <summary>Slice(X, starts, ends, axes?, steps?) with constant bounds (clamped as ONNX does).</summary>
public sealed class SliceOp : Op
{
    public override string Type => "Slice";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var starts = ctx.ConstantLongs(1);
        var ends = ctx.ConstantLongs(2);
        if (starts is null || ends is null) return [new TensorType(x.DType, new Shape(x.Shape.Dims.Select(_ => Dim.Unknown)))];
        var axes = ctx.ConstantLongs(3) ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        var steps = ctx.ConstantLongs(4) ?? Enumerable.Repeat(1L, starts.Length).ToArray();
        var dims = x.Shape.Dims.ToArray();
        for (var i = 0; i < axes.Length; i++)
        {
            var a = x.Shape.NormalizeAxis(axes[i]);
            if (!dims[a].IsKnown) { dims[a] = Dim.Unknown; continue; }
            var n = dims[a].Known;
            var step = steps[i];
            if (step == 0) throw ctx.Error("slice step 0");
            long Clamp(long v, long lo, long hi) => Math.Max(lo, Math.Min(hi, v));
            var s = starts[i] < 0 ? starts[i] + n : starts[i];
            var e = ends[i] < 0 ? ends[i] + n : ends[i];
            long len;
            if (step > 0) { s = Clamp(s, 0, n); e = Clamp(e, 0, n); len = Math.Max(0, (e - s + step - 1) / step); }
            else { s = Clamp(s, -1, n - 1); e = Clamp(e, -1, n - 1); len = Math.Max(0, (s - e + (-step) - 1) / -step); }
            dims[a] = len;
        }
        return [new TensorType(x.DType, new Shape(dims))];
    }

    /// <summary>Y = X[starts:ends:steps]; dX = Pad(dY) for unit steps, else ScatterElements of dY at the sliced flat indices</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var dy = c.DY();
        var starts = c.ConstantLongs(1);
        var ends = c.ConstantLongs(2);
        if (starts is null || ends is null || !x.Shape.IsFullyKnown) throw c.Error("the gradient needs constant starts/ends and a static input shape");
        var axes = c.ConstantLongs(3) ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        var steps = c.ConstantLongs(4) ?? Enumerable.Repeat(1L, starts.Length).ToArray();
        if (steps.All(st => st == 1))
        {
            var pads = new long[2 * x.Rank];
            for (var i = 0; i < axes.Length; i++)
            {
                var a = x.Shape.NormalizeAxis(axes[i]);
                var n = x.Shape[a].Known;
                var begin = Math.Clamp(starts[i] < 0 ? starts[i] + n : starts[i], 0, n);
                var end = Math.Clamp(ends[i] < 0 ? ends[i] + n : ends[i], 0, n);
                pads[a] = begin;
                pads[a + x.Rank] = n - Math.Max(begin, end);
            }
            return [g.Node1("Pad", [dy, g.Ints("pads", pads)]), null, null, null, null];
        }
        var count = x.Shape.ElementCount!.Value;
        var positions = g.Node1("Slice", [g.Reshape(g.Node1("Range", [g.ScalarLong(0), g.ScalarLong(count), g.ScalarLong(1)]), x.Shape.ToArray()),
            c.X(1), c.X(2), c.HasInput(3) ? c.X(3) : null, c.HasInput(4) ? c.X(4) : null]);
        var zeros = g.Node1("ConstantOfShape", [g.Ints("size", count)], [Attr.Tensor("value", Emit.ZeroTensor(x.DType))]);
        var scattered = g.Node1("ScatterElements", [zeros, g.Reshape(positions, -1), g.Reshape(dy, -1)], [Attr.Int("axis", 0)]);
        return [g.ReshapeLike(scattered, x), null, null, null, null];
    }
}

/// <summary>Gather(data, indices, axis): data.shape[:axis] + indices.shape + data.shape[axis+1:].</summary>
public sealed class GatherOp : Op
{
    public override string Type => "Gather";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var data = ctx.Input(0);
        var idx = ctx.Input(1).Shape;
        var axis = data.Shape.NormalizeAxis(ctx.Node.GetInt("axis", 0));
        return [new TensorType(data.DType, new Shape(data.Shape.Dims.Take(axis).Concat(idx.Dims).Concat(data.Shape.Dims.Skip(axis + 1))))];
    }

    /// <summary>Y = X.take(I, axis); dX = ScatterND(0, I, dY, add) with the gathered axis moved to the front</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var idx = c.X(1);
        var axis = x.Shape.NormalizeAxis(c.Node.GetInt("axis", 0));
        var q = idx.Rank;
        var r = x.Rank;
        if (!x.Shape[axis].IsKnown) throw c.Error($"gathered axis {axis} of {x.Shape} must be static");
        // dY is [pre, idx, post]; ScatterND wants [idx, pre, post] against data laid out [axis, pre, post].
        long[] dyPerm = [.. Enumerable.Range(axis, q), .. Enumerable.Range(0, axis), .. Enumerable.Range(axis + q, r - axis - 1)];
        var updates = g.Transpose(c.DY(), dyPerm);
        long[] xPerm = [axis, .. Enumerable.Range(0, axis), .. Enumerable.Range(axis + 1, r - axis - 1)];
        var zeros = g.ZerosLike(g.Transpose(x, xPerm));
        var i64 = g.Cast(idx, DataType.Int64);
        var size = g.ScalarLong(x.Shape[axis].Known);
        var wrapped = g.Where(g.Compare("Less", i64, g.ScalarLong(0)), g.Add(i64, size), i64);
        var scattered = g.Node1("ScatterND", [zeros, g.Unsqueeze(wrapped, q), updates], [Attr.String("reduction", "add")]);
        var inverse = new long[r];
        for (var i = 0; i < r; i++) inverse[xPerm[i]] = i;
        return [g.Transpose(scattered, inverse), null];
    }
}

public sealed class GatherElementsOp : Op
{
    public override string Type => "GatherElements";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx) => [new TensorType(ctx.Input(0).DType, ctx.Input(1).Shape)];

    /// <summary>Y = X.take_along(I, axis); dX = ScatterElements(0, I, dY, axis, add)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var axis = c.X(0).Shape.NormalizeAxis(c.Node.GetInt("axis", 0));
        return [g.Node1("ScatterElements", [g.ZerosLike(c.X(0)), c.X(1), c.DY()], [Attr.Int("axis", axis), Attr.String("reduction", "add")]), null];
    }
}

/// <summary>Expand(X, shape): bidirectional broadcast with a constant shape.</summary>
public sealed class ExpandOp : Op
{
    public override string Type => "Expand";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var target = ctx.ConstantLongs(1);
        if (target is null)
        {
            var rank = ctx.Input(1).Shape[0];
            return [new TensorType(x.DType, rank.IsKnown ? new Shape(Enumerable.Repeat(Dim.Unknown, (int)Math.Max(rank.Known, x.Shape.Rank))) : x.Shape)];
        }
        return [new TensorType(x.DType, ShapeMath.Broadcast([x.Shape, Shape.Of(target)], ctx.Error))];
    }

    /// <summary>Y = broadcast(X); dX = dY summed over the broadcast axes (by the engine)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c) => [c.DY(), null];
}

public sealed class TileOp : Op
{
    public override string Type => "Tile";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var repeats = ctx.ConstantLongs(1);
        return [new TensorType(x.DType, new Shape(x.Shape.Dims.Select((d, i) => repeats is null ? Dim.Unknown : d * Dim.Of(repeats[i]))))];
    }

    /// <summary>Y = tile(X, r); dX = Σ over the r copies: reshape dY to [r₀, d₀, r₁, d₁, …] and sum the r axes</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var repeats = c.ConstantLongs(1) ?? throw c.Error("repeats must be a constant");
        if (!x.Shape.IsFullyKnown) throw c.Error($"input shape {x.Shape} must be static");
        var split = g.Reshape(c.DY(), x.Shape.ToArray().SelectMany((d, i) => new[] { repeats[i], d }).ToArray());
        var summed = g.ReduceSum(split, Enumerable.Range(0, x.Rank).Select(i => 2L * i), keepDims: false);
        return [summed, null];
    }
}

/// <summary>Pad(X, pads[2·rank], value?, axes?) with constant pads.</summary>
public sealed class PadOp : Op
{
    public override string Type => "Pad";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var pads = ctx.ConstantLongs(1);
        var r = x.Shape.Rank;
        if (pads is null) return [new TensorType(x.DType, new Shape(x.Shape.Dims.Select(_ => Dim.Unknown)))];
        if (pads.Length != 2 * r) throw ctx.Error($"pads has {pads.Length} values for rank {r}");
        return [new TensorType(x.DType, new Shape(x.Shape.Dims.Select((d, i) => d.IsKnown ? Dim.Of(d.Known + pads[i] + pads[i + r]) : Dim.Unknown)))];
    }

    /// <summary>Constant: Y = pad(X, p); dX = pad(dY, −p), which crops. Edge and reflect: along each padded axis Y takes
    /// X at an index map m (clamped, or mirrored without repeating the border); dX = dY·M along that axis, M[j, i] = [m(j) = i]</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var mode = c.Node.GetString("mode", "constant");
        var pads = c.ConstantLongs(1) ?? throw c.Error("pads must be a constant");
        if (mode == "constant") return [g.Node1("Pad", [c.DY(), g.Ints("pads", pads.Select(p => -p).ToArray())]), null, null];
        if (mode is not ("edge" or "reflect")) throw c.Error($"mode '{mode}' has no gradient rule");
        var x = c.X(0);
        var rank = x.Rank;
        var dx = c.DY();
        for (var axis = 0; axis < rank; axis++)
        {
            long before = pads[axis], after = pads[axis + rank];
            if (before == 0 && after == 0) continue;
            if (before < 0 || after < 0) throw c.Error($"{mode} padding with negative pads ({before}, {after}) has no gradient rule");
            var n = x.Shape[axis].IsKnown ? x.Shape[axis].Known : throw c.Error($"{mode} padding needs a static size on axis {axis}");
            var map = new float[(n + before + after) * n];
            for (var j = 0L; j < n + before + after; j++)
                map[j * n + SourceIndex(j - before, n, mode)] = 1;
            var m = g.Cast(g.Constant(map, [n + before + after, n], "pad_map"), x.DType);
            dx = AlongAxis(g, dx, axis, rank, v => g.MatMul(v, m));
        }
        return [dx, null, null];
    }

    /// <summary>Which input index an output position <paramref name="p"/> (relative to the first unpadded one) reads.</summary>
    private static long SourceIndex(long p, long n, string mode) => mode == "edge"
        ? Math.Clamp(p, 0, n - 1)
        : p < 0 ? -p : p >= n ? 2 * (n - 1) - p : p;

    /// <summary>Applies <paramref name="f"/> (which works on the last axis) to <paramref name="axis"/>.</summary>
    internal static Value AlongAxis(GraphBuilder g, Value v, int axis, int rank, Func<Value, Value> f)
    {
        if (axis == rank - 1) return f(v);
        var perm = Enumerable.Range(0, rank).Select(i => (long)(i == axis ? rank - 1 : i == rank - 1 ? axis : i)).ToArray();
        return g.Transpose(f(g.Transpose(v, perm)), perm); // the swap is its own inverse
    }
}

public sealed class ShapeOp : Op
{
    public override bool Differentiable => false;
    public override string Type => "Shape";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var rank = ctx.Input(0).Shape.Rank;
        var start = ctx.Node.GetInt("start", 0);
        var end = ctx.Node.GetInt("end", rank);
        start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        end = Math.Clamp(end < 0 ? end + rank : end, 0, rank);
        return [new TensorType(DataType.Int64, Shape.Of(Math.Max(0, end - start)))];
    }
}

public sealed class SizeOp : Op
{
    public override bool Differentiable => false;
    public override string Type => "Size";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx) => [new TensorType(DataType.Int64, Shape.Scalar)];
}

public sealed class ConstantOp : Op
{
    public override bool Differentiable => false;
    public override string Type => "Constant";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var t = ctx.Node.GetTensor("value") ?? throw ctx.Error("only the 'value' form of Constant is supported");
        return [new TensorType(Tensors.TypeOf(t), Shape.Of(t.Dims.ToArray()))];
    }
}

public sealed class ConstantOfShapeOp : Op
{
    public override bool Differentiable => false;
    public override string Type => "ConstantOfShape";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var dtype = ctx.Node.GetTensor("value") is { } v ? Tensors.TypeOf(v) : DataType.Float;
        var dims = ctx.ConstantLongs(0);
        if (dims is not null) return [new TensorType(dtype, Shape.Of(dims))];
        var rank = ctx.Input(0).Shape[0];
        return [new TensorType(dtype, rank.IsKnown ? new Shape(Enumerable.Repeat(Dim.Unknown, (int)rank.Known)) : Shape.Scalar)];
    }
}

public sealed class RangeOp : Op
{
    public override bool Differentiable => false;
    public override string Type => "Range";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var start = ctx.ConstantInput(0);
        var limit = ctx.ConstantInput(1);
        var delta = ctx.ConstantInput(2);
        Dim n = Dim.Unknown;
        if (start is not null && limit is not null && delta is not null)
        {
            var (s, l, d) = (Tensors.ToDoubles(start)[0], Tensors.ToDoubles(limit)[0], Tensors.ToDoubles(delta)[0]);
            n = (long)Math.Max(0, Math.Ceiling((l - s) / d));
        }
        return [new TensorType(ctx.Input(0).DType, Shape.Of(n))];
    }
}

/// <summary>OneHot(indices, depth, values) → indices.shape with depth inserted at axis.</summary>
public sealed class OneHotOp : Op
{
    public override bool Differentiable => false;
    public override string Type => "OneHot";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var idx = ctx.Input(0).Shape;
        var depth = ctx.ConstantLongs(1) is { } d ? Dim.Of(d[0]) : Dim.Unknown;
        var axis = (int)ctx.Node.GetInt("axis", -1);
        if (axis < 0) axis += idx.Rank + 1;
        var dims = idx.Dims.ToList();
        dims.Insert(axis, depth);
        return [new TensorType(ctx.Input(2).DType, new Shape(dims))];
    }
}

public sealed class DepthToSpaceOp : Op
{
    public override string Type => "DepthToSpace";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0).Shape;
        var b = ctx.Node.GetInt("blocksize", 1);
        var c = x[1].IsKnown ? Dim.Of(x[1].Known / (b * b)) : Dim.Unknown;
        return [new TensorType(ctx.Input(0).DType, Shape.Of(x[0], c, x[2] * Dim.Of(b), x[3] * Dim.Of(b)))];
    }
}

/// <summary>Resize(X, roi?, scales?, sizes?) with constant scales or sizes.</summary>
public sealed class ResizeOp : Op
{
    public override string Type => "Resize";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var sizes = ctx.ConstantLongs(3);
        if (sizes is not null) return [new TensorType(x.DType, Shape.Of(sizes))];
        var scales = ctx.ConstantInput(2) is { } s ? Tensors.ToFloats(s) : null;
        if (scales is null || scales.Length == 0) return [new TensorType(x.DType, new Shape(x.Shape.Dims.Select(_ => Dim.Unknown)))];
        return [new TensorType(x.DType, new Shape(x.Shape.Dims.Select((d, i) => d.IsKnown ? Dim.Of((long)Math.Floor(d.Known * scales[i])) : scales[i] == 1f ? d : Dim.Unknown)))];
    }

    /// <summary>Y = A·X along each resized axis (n → m; every mode is linear in X and separable by axis); dX = Aᵀ·dY
    /// there. Aᵀ [n, m] is ONNX Runtime's own Resize of the identity [n, n] along its second axis, with this node's
    /// attributes and that axis's scale or size, so it matches the forward's coordinate mapping exactly.</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        if (c.Node.GetString("coordinate_transformation_mode", "half_pixel") == "tf_crop_and_resize")
            throw c.Error("coordinate_transformation_mode 'tf_crop_and_resize' has no gradient rule");
        var x = c.X(0);
        var y = c.Y();
        var scales = c.Constant(2) is { } t ? Tensors.ToFloats(t) : null;
        if (scales is { Length: 0 }) scales = null;
        var sizes = c.ConstantLongs(3);
        if (scales is null && sizes is null) throw c.Error("scales or sizes must be constants");
        var rank = x.Rank;
        var dx = c.DY();
        for (var axis = 0; axis < rank; axis++)
        {
            if (scales is not null ? scales[axis] == 1f : x.Shape[axis].IsKnown && sizes![axis] == x.Shape[axis].Known) continue;
            var n = x.Shape[axis].IsKnown ? x.Shape[axis].Known : throw c.Error($"the resized axis {axis} needs a static input size, got {x.Shape}");
            var m = y.Shape[axis].IsKnown ? y.Shape[axis].Known : throw c.Error($"the resized axis {axis} needs a static output size, got {y.Shape}");
            var identity = new float[n * n];
            for (var i = 0L; i < n; i++) identity[i * n + i] = 1;
            Value?[] inputs = scales is not null
                ? [g.Constant(identity, [n, n], "resize_identity"), null, g.Constant([1f, scales[axis]], [2], "resize_scales")]
                : [g.Constant(identity, [n, n], "resize_identity"), null, null, g.Ints("resize_sizes", n, m)];
            var transposed = g.Node1("Resize", inputs, c.Node.Attribute.Select(a => a.Clone()).ToArray());
            var matrix = g.Cast(g.Transpose(transposed, 1, 0), x.DType);
            dx = PadOp.AlongAxis(g, dx, axis, rank, v => g.MatMul(v, matrix));
        }
        return [dx, null, null, null];
    }
}
