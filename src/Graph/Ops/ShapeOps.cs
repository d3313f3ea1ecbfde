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
        // Reshaping a shape vector to a scalar or 1-D keeps its entries.
        if (ctx.ShapeValue(0) is { } carried && ctx.ConstantLongs(1) is { Length: <= 1 }) ctx.SetShapeValue(0, carried);
        var target = ctx.ConstantLongs(1);
        if (target is null)
        {
            if (ctx.ShapeValue(1) is { } entries) return [new TensorType(x.DType, ReshapeTo(ctx, x.Shape, entries))];
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

    /// <summary>A target computed from Shape nodes: its dims as they are (a static 0 copies the input dim).</summary>
    private static Shape ReshapeTo(InferenceContext ctx, Shape x, Dim[] entries)
    {
        var allowZero = ctx.Node.GetInt("allowzero", 0) != 0;
        var dims = entries.Select((d, i) => d.Value == 0 && !allowZero && i < x.Rank ? x[i] : d).ToArray();
        if (x.IsFullyKnown && dims.All(d => d.IsKnown) && dims.Aggregate(1L, (p, d) => p * d.Known) != x.ElementCount)
            throw ctx.Error($"cannot reshape {x} into {new Shape(dims)}");
        return new Shape(dims);
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
        var dims = x.Shape.Dims.Where((d, i) => axes is null ? d.Value != 1 : !axes.Contains(i)).ToList();
        if (dims.Count <= 1 && ctx.ShapeValue(0) is { } carried) ctx.SetShapeValue(0, carried);
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
        if (rank <= 1 && ctx.ShapeValue(0) is { } carried) ctx.SetShapeValue(0, carried);
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
        if (dims.Length == 1)
        {
            var parts = Enumerable.Range(0, ctx.InputCount).Select(ctx.ShapeValue).ToList();
            if (parts.All(p => p is not null)) ctx.SetShapeValue(0, parts.SelectMany(p => p!).ToArray());
        }
        return [new TensorType(first.DType, new Shape(dims))];
    }

    /// <summary>Y = concat(Xᵢ, axis); dXᵢ = split(dY, sizes(Xᵢ), axis) (a symbolic size read as Shape(Xᵢ)[axis])</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var axis = c.Y().Shape.NormalizeAxis(c.Node.GetInt("axis", 0));
        if (c.Inputs.Count == 1) return [c.DY()];
        var sizes = c.Inputs.Select(x => x!.Shape[axis].Value is { } n ? (object)n : g.ShapeOf(x, axis, axis + 1)).ToList();
        var parts = g.Node("Split", [c.DY(), g.IntVector(sizes)], [Attr.Int("axis", axis)], c.Inputs.Count);
        return parts.Select((p, i) => c.Needs(i) ? g.Refine(p, c.X(i).Shape) : null).ToList();
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
        if (split is null && ctx.HasInput(1))
        {
            // Sizes computed at run time: known where they come from Shape nodes.
            var sizes = ctx.ShapeValue(1);
            if (sizes is not null && sizes.Length != count) throw ctx.Error($"split has {sizes.Length} parts for {count} outputs");
            return Enumerable.Range(0, count).Select(k => new TensorType(x.DType, x.Shape.WithDim(axis, sizes?[k] ?? Dim.Unknown))).ToList();
        }
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
        if (x.Shape.Rank == 1 && starts.Length == 1 && ctx.ShapeValue(0) is { } entries && entries.Length == x.Shape[0].Value)
            ctx.SetShapeValue(0, ShapeMath.SliceEntries(entries, starts[0], ends[0], steps[0]));
        for (var i = 0; i < axes.Length; i++)
        {
            var a = x.Shape.NormalizeAxis(axes[i]);
            if (!dims[a].IsKnown) { dims[a] = ShapeMath.CoversAxis(starts[i], ends[i], steps[i], null) ? dims[a] : Dim.Unknown; continue; }
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

    /// <summary>Y = X[starts:ends:steps]; dX = dY put back in place: a whole-axis reverse by the same reverse, unit steps by
    /// Pad (amounts from static sizes, or from Shape(X) where a dim is symbolic), any other slice by ScatterElements of dY
    /// at the sliced flat positions of X</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var starts = c.ConstantLongs(1);
        var ends = c.ConstantLongs(2);
        var axes = c.HasInput(3) ? c.ConstantLongs(3) : starts is null ? null : Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
        var steps = c.HasInput(4) ? c.ConstantLongs(4) : starts is null ? null : Enumerable.Repeat(1L, starts.Length).ToArray();
        if (starts is null || ends is null || axes is null || steps is null) return [Scattered(c), null, null, null, null];
        var at = axes.Select(a => x.Shape.NormalizeAxis(a)).ToArray();
        var reversed = Enumerable.Range(0, at.Length).Where(i => steps[i] == -1 && ShapeMath.CoversAxis(starts[i], ends[i], -1, x.Shape[at[i]].Value)).ToList();
        var cropped = Enumerable.Range(0, at.Length).Where(i => !reversed.Contains(i)).ToList();
        if (cropped.Any(i => steps[i] != 1)) return [Scattered(c), null, null, null, null];
        var dx = c.DY();
        if (reversed.Count > 0)
            dx = g.Slice(dx, [.. reversed.Select(i => starts[i])], [.. reversed.Select(i => ends[i])], [.. reversed.Select(i => (long)at[i])], [.. reversed.Select(_ => -1L)]);
        if (cropped.Count > 0)
        {
            var begins = new object[x.Rank];
            var afters = new object[x.Rank];
            for (var a = 0; a < x.Rank; a++) (begins[a], afters[a]) = (0L, 0L);
            foreach (var i in cropped) (begins[at[i]], afters[at[i]]) = Cropped(g, x, at[i], starts[i], ends[i]);
            dx = g.Node1("Pad", [dx, g.IntVector(begins.Concat(afters))]);
        }
        return [g.Refine(dx, x.Shape), null, null, null, null];
    }

    /// <summary>Pads (before, after) that undo a unit-step slice [start, end) of axis <paramref name="a"/>: constants for
    /// a static dim, else computed from the dim at run time (bounds clamped as Slice clamps them).</summary>
    private static (object Before, object After) Cropped(GraphBuilder g, Value x, int a, long start, long end)
    {
        if (x.Shape[a].Value is { } n)
        {
            var b = Math.Clamp(start < 0 ? start + n : start, 0, n);
            var e = Math.Clamp(end < 0 ? end + n : end, 0, n);
            return (b, n - Math.Max(b, e));
        }
        var dim = g.ShapeOf(x, a, a + 1);
        Value Clamped(long v) => v >= 0 ? g.Node1("Min", [g.Ints(v), dim]) : g.Node1("Max", [g.Add(g.Ints(v), dim), g.Ints(0)]);
        object before = start == 0 || start <= -int.MaxValue ? 0L : Clamped(start);
        if (end >= int.MaxValue) return (before, 0L);
        var stop = Clamped(end);
        return (before, g.Sub(dim, before is Value bv ? g.Node1("Max", [bv, stop]) : stop));
    }

    /// <summary>dX = ScatterElements(zeros, Slice(positions of X), dY): serves any steps and run-time bounds.</summary>
    private static Value Scattered(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var count = x.Shape.ElementCount is { } n ? g.ScalarLong(n, "count") : g.Node1("Size", [x]);
        var positions = g.ReshapeLike(g.Node1("Range", [g.ScalarLong(0), count, g.ScalarLong(1)]), x);
        positions = g.Node1("Slice", [positions, c.X(1), c.X(2), c.HasInput(3) ? c.X(3) : null, c.HasInput(4) ? c.X(4) : null]);
        var zeros = g.Node1("ConstantOfShape", [g.Reshape(count, 1)], [Attr.Tensor("value", Emit.ZeroTensor(x.DType))]);
        var scattered = g.Node1("ScatterElements", [zeros, g.Reshape(positions, -1), g.Reshape(c.DY(), -1)], [Attr.Int("axis", 0)]);
        return g.ReshapeLike(scattered, x);
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
        if (data.Shape.Rank == 1 && idx.Rank <= 1 && ctx.ShapeValue(0) is { } entries && ctx.ConstantLongs(1) is { } picks
            && picks.All(p => p >= -entries.Length && p < entries.Length))
            ctx.SetShapeValue(0, picks.Select(p => entries[p < 0 ? p + entries.Length : p]).ToArray());
        return [new TensorType(data.DType, new Shape(data.Shape.Dims.Take(axis).Concat(idx.Dims).Concat(data.Shape.Dims.Skip(axis + 1))))];
    }

    /// <summary>Y = X.take(I, axis); dX = ScatterND(0, I, dY, add) with the gathered axis moved to the front (negative
    /// indices wrapped by the axis size, Shape(X)[axis] when symbolic)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var idx = c.X(1);
        var axis = x.Shape.NormalizeAxis(c.Node.GetInt("axis", 0));
        var q = idx.Rank;
        var r = x.Rank;
        // dY is [pre, idx, post]; ScatterND wants [idx, pre, post] against data laid out [axis, pre, post].
        long[] dyPerm = [.. Enumerable.Range(axis, q), .. Enumerable.Range(0, axis), .. Enumerable.Range(axis + q, r - axis - 1)];
        var updates = g.Transpose(c.DY(), dyPerm);
        long[] xPerm = [axis, .. Enumerable.Range(0, axis), .. Enumerable.Range(axis + 1, r - axis - 1)];
        var zeros = g.ZerosLike(g.Transpose(x, xPerm));
        var i64 = g.Cast(idx, DataType.Int64);
        var size = x.Shape[axis].Value is { } n ? g.ScalarLong(n) : g.Squeeze(g.ShapeOf(x, axis, axis + 1), 0);
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
            if (ctx.ShapeValue(1) is { } entries) return [new TensorType(x.DType, ShapeMath.Broadcast([x.Shape, new Shape(entries)], ctx.Error))];
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
        var repeats = ctx.ShapeValue(1);
        return [new TensorType(x.DType, new Shape(x.Shape.Dims.Select((d, i) => repeats is null ? Dim.Unknown : d * repeats[i])))];
    }

    /// <summary>Y = tile(X, r); dX = Σ over the r copies: reshape dY to [r₀, d₀, r₁, d₁, …] and sum the r axes (the
    /// target interleaved at run time from r and Shape(X) where either is not static)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var repeats = c.ConstantLongs(1);
        Value target;
        if (repeats is not null && x.Shape.IsFullyKnown)
            target = g.Ints("shape", x.Shape.ToArray().SelectMany((d, i) => new[] { repeats[i], d }).ToArray());
        else
        {
            var pairs = g.Concat([g.Unsqueeze(c.X(1), 1), g.Unsqueeze(g.ShapeOf(x), 1)], 1);
            target = g.Reshape(pairs, -1);
        }
        var split = g.Node1("Reshape", [c.DY(), target]);
        var summed = g.ReduceSum(split, Enumerable.Range(0, x.Rank).Select(i => 2L * i), keepDims: false);
        return [g.Refine(summed, x.Shape), null];
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

    /// <summary>Constant: Y = pad(X, p); dX = pad(dY, −p), which crops (p may be computed at run time). Edge and reflect:
    /// along each padded axis Y takes X at an index map m (clamped, or mirrored without repeating the border);
    /// dX = dY·M along that axis, M[j, i] = [m(j) = i] for a static size, else ScatterElements(0, m, dY, add) with m
    /// computed from the size at run time</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var mode = c.Node.GetString("mode", "constant");
        var pads = c.ConstantLongs(1);
        if (mode == "constant")
        {
            var crop = pads is not null ? g.Ints("pads", pads.Select(p => -p).ToArray()) : g.Neg(c.X(1));
            return [g.Refine(g.Node1("Pad", [c.DY(), crop]), x.Shape), null, null];
        }
        if (mode is not ("edge" or "reflect")) throw c.Error($"mode '{mode}' has no gradient rule");
        if (pads is null) throw c.Error($"{mode} padding needs constant pads for its gradient");
        var rank = x.Rank;
        var dx = c.DY();
        for (var axis = 0; axis < rank; axis++)
        {
            long before = pads[axis], after = pads[axis + rank];
            if (before == 0 && after == 0) continue;
            if (before < 0 || after < 0) throw c.Error($"{mode} padding with negative pads ({before}, {after}) has no gradient rule");
            if (x.Shape[axis].Value is not { } n)
            {
                dx = ScatteredBack(g, dx, x, axis, before, after, mode);
                continue;
            }
            var map = new float[(n + before + after) * n];
            for (var j = 0L; j < n + before + after; j++)
                map[j * n + SourceIndex(j - before, n, mode)] = 1;
            var m = g.Cast(g.Constant(map, [n + before + after, n], "pad_map"), x.DType);
            dx = AlongAxis(g, dx, axis, rank, v => g.MatMul(v, m));
        }
        return [g.Refine(dx, x.Shape), null, null];
    }

    /// <summary>One symbolic axis of the edge/reflect gradient: m(j) for j = −before … n + after − 1 from n at run time
    /// (edge: clamp(j, 0, n − 1); reflect: (n − 1) − |(n − 1) − |j||), then dY scattered into zeros with that axis n long.</summary>
    private static Value ScatteredBack(GraphBuilder g, Value dy, Value x, int axis, long before, long after, string mode)
    {
        var n = g.ShapeOf(x, axis, axis + 1);
        var last = g.Sub(n, g.Ints(1));
        var j = g.Node1("Range", [g.ScalarLong(-before), g.Squeeze(g.Add(n, g.Ints(after)), 0), g.ScalarLong(1)]);
        var m = mode == "edge"
            ? g.Node1("Min", [g.Node1("Max", [j, g.Ints(0)]), last])
            : g.Sub(last, g.Node1("Abs", [g.Sub(last, g.Node1("Abs", [j]))]));
        long[] along = [.. Enumerable.Repeat(1L, x.Rank)];
        along[axis] = -1;
        var index = g.Node1("Expand", [g.Reshape(m, along), g.ShapeOf(dy)]);
        var target = g.IntVector([.. axis > 0 ? [g.ShapeOf(dy, 0, axis)] : Array.Empty<object>(), n,
            .. axis + 1 < x.Rank ? [g.ShapeOf(dy, axis + 1)] : Array.Empty<object>()]);
        var zeros = g.Node1("ConstantOfShape", [target], [Attr.Tensor("value", Emit.ZeroTensor(dy.DType))]);
        return g.Node1("ScatterElements", [zeros, index, dy], [Attr.Int("axis", axis), Attr.String("reduction", "add")]);
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
        ctx.SetShapeValue(0, ctx.Input(0).Shape.Dims.Skip((int)start).Take((int)Math.Max(0, end - start)).ToArray());
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
        var dims = ctx.ShapeValue(0);
        if (dims is not null) return [new TensorType(dtype, new Shape(dims))];
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

/// <summary>[N, C, H, W] → [N, C·b², H/b, W/b], channel (i·b + j)·C + c holding X[n, c, h·b + i, w·b + j].</summary>
public sealed class SpaceToDepthOp : Op
{
    public override string Type => "SpaceToDepth";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0).Shape;
        var b = ctx.Node.GetInt("blocksize", 1);
        Dim Down(Dim d) => d.IsKnown ? Dim.Of(d.Known / b) : Dim.Unknown;
        return [new TensorType(ctx.Input(0).DType, Shape.Of(x[0], x[1] * Dim.Of(b * b), Down(x[2]), Down(x[3])))];
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

    /// <summary>Y = resize(X), separable: along each resized axis output j reads input iₖ(j) with weight wₖ(j) (nearest:
    /// one tap; linear: ⌊x⌋ and ⌊x⌋+1 clamped, x = the source coordinate clamped to [0, n−1]); dX = ScatterElements(0, i, dY·w,
    /// add) axis by axis. Taps are constants for static sizes, computed from the sizes at run time otherwise. Cubic (static
    /// sizes): Y = A·X along the axis with A [m, n] = the node's own Resize of the identity [n, n] along its first axis; dX = Aᵀ·dY</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var mode = c.Node.GetString("mode", "nearest");
        var transform = c.Node.GetString("coordinate_transformation_mode", "half_pixel");
        var nearest = c.Node.GetString("nearest_mode", "round_prefer_floor");
        if (mode is not ("nearest" or "linear" or "cubic")) throw c.Error($"mode '{mode}' has no gradient rule");
        if (transform is not ("half_pixel" or "pytorch_half_pixel" or "asymmetric" or "align_corners"))
            throw c.Error($"coordinate_transformation_mode '{transform}' has no gradient rule");
        var scales = c.HasInput(2) && c.Constant(2) is { } st && st.Dims.Aggregate(1L, (p, d) => p * d) > 0 ? Tensors.ToFloats(st) : null;
        var sizes = c.HasInput(3) ? c.ConstantLongs(3) ?? throw c.Error("sizes must be a constant for the gradient") : null;
        if (scales is null && sizes is null) throw c.Error("scales must be a constant for the gradient");
        var dx = c.DY();
        for (var axis = 0; axis < x.Rank; axis++)
        {
            var n = x.Shape[axis];
            float scale;
            if (scales is not null) scale = scales[axis];
            else if (n.Value is { } known) scale = (float)sizes![axis] / known;
            else throw c.Error($"sizes with a symbolic dim {n} (axis {axis}) have no gradient rule");
            if (scale == 1f && (sizes is null || n.Value == sizes[axis])) continue;
            var m = c.Y().Shape[axis];
            if (mode == "cubic")
            {
                if (n.Value is not { } nc || m.Value is not { } mc) throw c.Error($"mode 'cubic' with a symbolic dim (axis {axis}) has no gradient rule");
                dx = ThroughMatrix(g, c.Node, dx, axis, nc, mc, sizes is null ? scale : null);
                continue;
            }
            var (index, weight) = m.Value is { } mk && n.Value is { } nk
                ? StaticTaps(g, nk, mk, scale, mode, transform, nearest)
                : RuntimeTaps(g, x, c.Y(), axis, scale, mode, transform, nearest);
            dx = ScatterAlong(g, dx, x, axis, index, weight);
        }
        return [g.Refine(dx, x.Shape), null, null, null];
    }

    /// <summary>dX = Aᵀ·dY along <paramref name="axis"/>: A [m, n] is the node's own Resize (its attributes; scales [s, 1], or
    /// sizes [m, n] where the node has sizes) of the identity [n, n], so that every mode's taps are the forward's.</summary>
    private static Value ThroughMatrix(GraphBuilder g, global::Onnx.NodeProto node, Value dy, int axis, long n, long m, float? scale)
    {
        var eye = new float[n * n];
        for (var i = 0; i < n; i++) eye[i * n + i] = 1;
        var identity = g.Cast(g.Constant(eye, [n, n], "identity"), dy.DType);
        var a = g.Node1("Resize", scale is { } s ? [identity, null, g.Constant([s, 1f], [2], "scales")] : [identity, null, null, g.Ints("sizes", m, n)],
            node.Attribute.Where(x => x.Name != "antialias").Select(x => x.Clone()), name: "interpolation_matrix");
        var rank = dy.Rank;
        if (axis == rank - 1) return g.Node1("MatMul", [dy, a]);
        long[] perm = [.. Enumerable.Range(0, rank).Where(d => d != axis).Select(d => (long)d), axis];
        long[] back = [.. Enumerable.Range(0, rank).Select(d => (long)(d < axis ? d : d == axis ? rank - 1 : d - 1))];
        var moved = g.Node1("Transpose", [dy], [Attr.Ints("perm", perm)]);
        return g.Node1("Transpose", [g.Node1("MatMul", [moved, a])], [Attr.Ints("perm", back)]);
    }

    /// <summary>The source coordinate of output j (float arithmetic in ONNX Runtime's order).</summary>
    private static float Source(long j, long n, long m, float scale, string transform) => transform switch
    {
        "asymmetric" => j / scale,
        "align_corners" => m == 1 ? 0 : j * (float)(n - 1) / (m - 1),
        "pytorch_half_pixel" when m == 1 => 0,
        _ => (j + 0.5f) / scale - 0.5f,
    };

    private static long Nearest(float v, string nearest) => nearest switch
    {
        "round_prefer_ceil" => (long)MathF.Floor(v + 0.5f),
        "floor" => (long)MathF.Floor(v),
        "ceil" => (long)MathF.Ceiling(v),
        _ => (long)MathF.Ceiling(v - 0.5f),
    };

    /// <summary>Taps of a static axis: index [taps·m] (int64) and weights (null for nearest), tap-major.</summary>
    private static (Value Index, Value? Weight) StaticTaps(GraphBuilder g, long n, long m, float scale, string mode, string transform, string nearest)
    {
        if (mode == "nearest")
            return (g.Ints("taps", Enumerable.Range(0, (int)m).Select(j => Math.Clamp(Nearest(Source(j, n, m, scale, transform), nearest), 0, n - 1)).ToArray()), null);
        var index = new long[2 * m];
        var weight = new float[2 * m];
        for (var j = 0; j < m; j++)
        {
            var v = Math.Clamp(Source(j, n, m, scale, transform), 0f, n - 1);
            var i0 = (long)MathF.Floor(v);
            (index[j], index[m + j]) = (i0, Math.Min(i0 + 1, n - 1));
            (weight[j], weight[m + j]) = (1 - (v - i0), v - i0);
        }
        return (g.Ints("taps", index), g.Constant(weight, [2 * m], "tap_weights"));
    }

    /// <summary>Taps of an axis whose input or output size is symbolic, computed from Shape(X) and Shape(Y).</summary>
    private static (Value Index, Value? Weight) RuntimeTaps(GraphBuilder g, Value x, Value y, int axis, float scale, string mode, string transform, string nearest)
    {
        var f = global::Onnx.TensorProto.Types.DataType.Float;
        var n = g.Cast(g.ShapeOf(x, axis, axis + 1), f);
        var m = g.ShapeOf(y, axis, axis + 1);
        var j = g.Cast(g.Node1("Range", [g.ScalarLong(0), g.Squeeze(m, 0), g.ScalarLong(1)]), f);
        var last = g.Sub(n, g.Scalar(1, f));
        var v = transform switch
        {
            "asymmetric" => g.Div(j, g.Scalar(scale, f)),
            "align_corners" => g.Where(g.Compare("Equal", m, g.Ints(1)), g.Scalar(0, f),
                g.Div(g.Mul(j, last), g.Sub(g.Cast(m, f), g.Scalar(1, f)))),
            _ => g.Sub(g.Div(g.Add(j, g.Scalar(0.5, f)), g.Scalar(scale, f)), g.Scalar(0.5, f)),
        };
        if (transform == "pytorch_half_pixel") v = g.Where(g.Compare("Equal", m, g.Ints(1)), g.Scalar(0, f), v);
        Value Clamped(Value t) => g.Node1("Min", [g.Node1("Max", [t, g.Scalar(0, f)]), last]);
        if (mode == "nearest")
        {
            var r = nearest switch
            {
                "round_prefer_ceil" => g.Unary("Floor", g.Add(v, g.Scalar(0.5, f))),
                "floor" => g.Unary("Floor", v),
                "ceil" => g.Unary("Ceil", v),
                _ => g.Unary("Ceil", g.Sub(v, g.Scalar(0.5, f))),
            };
            return (g.Cast(Clamped(r), global::Onnx.TensorProto.Types.DataType.Int64), null);
        }
        var clamped = Clamped(v);
        var lower = g.Unary("Floor", clamped);
        var upper = g.Node1("Min", [g.Add(lower, g.Scalar(1, f)), last]);
        var frac = g.Sub(clamped, lower);
        var index = g.Cast(g.Concat([lower, upper], 0), global::Onnx.TensorProto.Types.DataType.Int64);
        return (index, g.Concat([g.Sub(g.Scalar(1, f), frac), frac], 0));
    }

    /// <summary>Adds dY (scaled by the tap weights) into zeros of X's size along <paramref name="axis"/> at the tap indices.</summary>
    private static Value ScatterAlong(GraphBuilder g, Value dy, Value x, int axis, Value index, Value? weight)
    {
        var rank = dy.Rank;
        long[] along = [.. Enumerable.Repeat(1L, rank)];
        along[axis] = -1;
        var updates = dy;
        if (weight is not null)
        {
            // Two taps: dY twice along the axis, each copy scaled by its tap's weights.
            updates = g.Concat([dy, dy], axis);
            updates = g.Mul(updates, g.Reshape(g.Cast(weight, dy.DType), along));
        }
        var indices = g.ExpandLike(g.Reshape(index, along), updates);
        var zerosShape = x.Shape.Dims.Select((d, i) => i == axis ? d : dy.Shape[i]).ToArray();
        var target = zerosShape.All(d => d.IsKnown)
            ? g.Ints("shape", zerosShape.Select(d => d.Known).ToArray())
            : g.IntVector([.. axis > 0 ? [g.ShapeOf(dy, 0, axis)] : Array.Empty<object>(), g.ShapeOf(x, axis, axis + 1),
                .. axis + 1 < rank ? [g.ShapeOf(dy, axis + 1)] : Array.Empty<object>()]);
        var zeros = g.Node1("ConstantOfShape", [target], [Attr.Tensor("value", Emit.ZeroTensor(dy.DType))]);
        var scattered = g.Node1("ScatterElements", [zeros, indices, updates], [Attr.Int("axis", axis), Attr.String("reduction", "add")]);
        return g.Refine(scattered, new Shape(zerosShape));
    }
}
