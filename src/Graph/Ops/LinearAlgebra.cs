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
}
