using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Ops;

/// <summary>NumPy matmul: batch dims broadcast, 1-D operands promoted and their axis dropped.</summary>
public sealed class MatMulOp : Op
{
    public override string Type => "MatMul";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var a = ctx.Input(0).Shape;
        var b = ctx.Input(1).Shape;
        if (a.Rank == 0 || b.Rank == 0) throw ctx.Error("MatMul operands must have rank >= 1");
        var a2 = a.Rank == 1 ? a.Prepend(1) : a;
        var b2 = b.Rank == 1 ? b.Append(1) : b;
        var k1 = a2[-1];
        var k2 = b2[-2];
        if (k1.IsKnown && k2.IsKnown && k1.Known != k2.Known)
            throw ctx.Error($"inner dimensions differ: {a} · {b}");
        var batch = ShapeMath.Broadcast([a2.Take(a2.Rank - 2), b2.Take(b2.Rank - 2)], ctx.Error);
        var dims = batch.Dims.ToList();
        if (a.Rank > 1) dims.Add(a2[-2]);
        if (b.Rank > 1) dims.Add(b2[-1]);
        return [new TensorType(ctx.Input(0).DType, new Shape(dims))];
    }

    /// <summary>Y = A·B; dA = dY·Bᵀ, dB = Aᵀ·dY (1-D operands promoted; batch dims reduced by the engine)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var a = c.X(0);
        var b = c.X(1);
        var dy = c.DY();
        if (a.Rank == 1) { a = g.Unsqueeze(a, 0); dy = g.Unsqueeze(dy, dy.Rank - (b.Rank == 1 ? 0 : 1)); }
        if (b.Rank == 1) { b = g.Unsqueeze(b, 1); dy = g.Unsqueeze(dy, dy.Rank); }
        var da = c.Needs(0) ? g.MatMul(dy, SwapLast(g, b)) : null;
        var db = c.Needs(1) ? g.MatMul(SwapLast(g, a), dy) : null;
        if (c.X(0).Rank == 1 && da is not null) da = g.Squeeze(da, da.Rank - 2);
        if (c.X(1).Rank == 1 && db is not null) db = g.Squeeze(db, db.Rank - 1);
        return [da, db];
    }

    private static Value SwapLast(GraphBuilder g, Value v)
    {
        var perm = Enumerable.Range(0, v.Rank).Select(i => (long)i).ToArray();
        (perm[^1], perm[^2]) = (perm[^2], perm[^1]);
        return g.Transpose(v, perm);
    }
}

/// <summary>Gemm: Y = alpha·op(A)·op(B) + beta·C on 2-D operands.</summary>
public sealed class GemmOp : Op
{
    public override string Type => "Gemm";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var a = ctx.Input(0).Shape;
        var b = ctx.Input(1).Shape;
        if (a.Rank != 2 || b.Rank != 2) throw ctx.Error($"Gemm needs 2-D operands, got {a} and {b}");
        var m = ctx.Node.GetInt("transA", 0) != 0 ? a[1] : a[0];
        var ka = ctx.Node.GetInt("transA", 0) != 0 ? a[0] : a[1];
        var kb = ctx.Node.GetInt("transB", 0) != 0 ? b[1] : b[0];
        var n = ctx.Node.GetInt("transB", 0) != 0 ? b[0] : b[1];
        if (ka.IsKnown && kb.IsKnown && ka.Known != kb.Known) throw ctx.Error($"inner dimensions differ: {a} · {b}");
        return [new TensorType(ctx.Input(0).DType, Shape.Of(m, n))];
    }

    /// <summary>Y = α·op(A)·op(B) + β·C; d op(A) = α·dY·op(B)ᵀ, d op(B) = α·op(A)ᵀ·dY, dC = β·dY</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var alpha = c.Node.GetFloat("alpha", 1f);
        var beta = c.Node.GetFloat("beta", 1f);
        var ta = c.Node.GetInt("transA", 0);
        var tb = c.Node.GetInt("transB", 0);
        var dy = c.DY();
        Value Gemm(Value x, Value y, long transX, long transY) =>
            g.Node1("Gemm", [x, y], [Attr.Float("alpha", alpha), Attr.Int("transA", transX), Attr.Int("transB", transY)]);
        Value? da = null, db = null, dc = null;
        if (c.Needs(0)) da = ta == 0 ? Gemm(dy, c.X(1), 0, 1 - tb) : Gemm(c.X(1), dy, tb, 1);
        if (c.Needs(1)) db = tb == 0 ? Gemm(c.X(0), dy, 1 - ta, 0) : Gemm(dy, c.X(0), 1, ta);
        if (c.Needs(2)) dc = g.Scale(dy, beta);
        return [da, db, dc];
    }
}

/// <summary>Einsum output shape from the equation's explicit output (implicit form: sorted single letters).</summary>
public sealed class EinsumOp : Op
{
    public override string Type => "Einsum";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var equation = ctx.Node.GetString("equation", "").Replace(" ", "");
        var parts = equation.Split("->");
        var terms = parts[0].Split(',');
        if (terms.Length != ctx.InputCount) throw ctx.Error($"equation '{equation}' names {terms.Length} operands, node has {ctx.InputCount}");
        if (terms.Any(t => t.Contains("..."))) throw ctx.Error("ellipsis in Einsum equations is not supported");
        var sizes = new Dictionary<char, Dim>();
        for (var i = 0; i < terms.Length; i++)
        {
            var shape = ctx.Input(i).Shape;
            if (terms[i].Length != shape.Rank) throw ctx.Error($"term '{terms[i]}' does not match operand shape {shape}");
            for (var k = 0; k < shape.Rank; k++)
                if (!sizes.TryGetValue(terms[i][k], out var d) || (!d.IsKnown && shape[k].IsKnown) || d.Value == 1) sizes[terms[i][k]] = shape[k];
        }
        var output = parts.Length > 1
            ? parts[1]
            : new string(sizes.Keys.Where(c => terms.Sum(t => t.Count(x => x == c)) == 1).OrderBy(c => c).ToArray());
        return [new TensorType(ctx.Input(0).DType, new Shape(output.Select(c => sizes[c])))];
    }

    /// <summary>Y = einsum(t₁,t₂→o); dXᵢ = einsum(o,tⱼ→tᵢ) (letters only in tᵢ are broadcast back); no repeated letters in a term</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var equation = c.Node.GetString("equation", "").Replace(" ", "");
        var parts = equation.Split("->");
        var terms = parts[0].Split(',');
        if (terms.Length > 2) throw c.Error($"only one- and two-operand equations have a gradient, not '{equation}'");
        var output = parts.Length > 1
            ? parts[1]
            : new string(string.Concat(terms).GroupBy(ch => ch).Where(grp => grp.Count() == 1).Select(grp => grp.Key).OrderBy(ch => ch).ToArray());
        if (terms.Append(output).Any(t => t.Distinct().Count() != t.Length)) throw c.Error($"repeated letters in a term of '{equation}' have no gradient rule");
        var grads = new Value?[terms.Length];
        for (var i = 0; i < terms.Length; i++)
        {
            if (!c.Needs(i)) continue;
            var other = terms.Length == 2 ? terms[1 - i] : "";
            var target = terms[i];
            var reachable = new string(target.Where(ch => output.Contains(ch) || other.Contains(ch)).ToArray());
            var eq = (terms.Length == 2 ? $"{output},{other}" : output) + "->" + reachable;
            Value d = g.Node1("Einsum", terms.Length == 2 ? [c.DY(), c.X(1 - i)] : [c.DY()], [Attr.String("equation", eq)]);
            if (reachable.Length != target.Length)
            {
                // Letters summed away inside operand i alone: their gradient is dY broadcast along them.
                var missing = target.Select((ch, k) => (ch, k)).Where(p => !reachable.Contains(p.ch)).Select(p => (long)p.k).ToArray();
                d = g.ExpandLike(g.Unsqueeze(d, missing), c.X(i));
            }
            grads[i] = d;
        }
        return grads;
    }
}
