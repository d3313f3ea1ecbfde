using NeuralService.Graph.Onnx;
using static NeuralService.Graph.Tests.Support.GradientTesting;

namespace NeuralService.Graph.Tests.Autodiff;

public sealed class LinearAlgebraGradientTests
{
    [SkippableFact]
    public void MatMulShapes()
    {
        CheckAll(
            C("2d", g => g.Op("MatMul", Param(g, "a", [3, 4], 1), Param(g, "b", [4, 2], 2))),
            C("batched", g => g.Op("MatMul", Param(g, "a", [2, 3, 4], 3), Param(g, "b", [2, 4, 5], 4))),
            C("broadcast weight", g => g.Op("MatMul", Param(g, "a", [2, 3, 4], 5), Param(g, "b", [4, 2], 6))),
            C("broadcast batch", g => g.Op("MatMul", Param(g, "a", [2, 1, 3, 4], 7), Param(g, "b", [3, 4, 2], 8))),
            C("vector left", g => g.Op("MatMul", Param(g, "a", [4], 9), Param(g, "b", [2, 4, 3], 10))),
            C("vector right", g => g.Op("MatMul", Param(g, "a", [2, 3, 4], 11), Param(g, "b", [4], 12))),
            C("dot", g => g.Op("MatMul", Param(g, "a", [4], 13), Param(g, "b", [4], 14))));
    }

    [SkippableFact]
    public void GemmAttributes()
    {
        var cases = new List<Case>();
        foreach (var ta in new[] { 0, 1 })
            foreach (var tb in new[] { 0, 1 })
                cases.Add(C($"gemm ta={ta} tb={tb}", g => g.Op("Gemm",
                    [Param(g, "a", ta == 0 ? [3, 4] : [4, 3], 1), Param(g, "b", tb == 0 ? [4, 2] : [2, 4], 2), Param(g, "c", [2], 3)],
                    Attr.Int("transA", ta), Attr.Int("transB", tb), Attr.Float("alpha", 0.7f), Attr.Float("beta", 1.3f))));
        cases.Add(C("gemm no bias", g => g.Op("Gemm", Param(g, "a", [3, 4], 4), Param(g, "b", [4, 5], 5))));
        cases.Add(C("gemm full bias", g => g.Op("Gemm", Param(g, "a", [3, 4], 6), Param(g, "b", [4, 5], 7), Param(g, "c", [3, 5], 8))));
        CheckAll([.. cases]);
    }

    [SkippableFact]
    public void EinsumTwoOperands()
    {
        global::Onnx.AttributeProto Eq(string e) => Attr.String("equation", e);
        CheckAll(
            C("matmul", g => g.Op("Einsum", [Param(g, "a", [3, 4], 1), Param(g, "b", [4, 2], 2)], Eq("ij,jk->ik"))),
            C("batched", g => g.Op("Einsum", [Param(g, "a", [2, 3, 4], 3), Param(g, "b", [2, 4, 5], 4)], Eq("bij,bjk->bik"))),
            C("outer", g => g.Op("Einsum", [Param(g, "a", [3], 5), Param(g, "b", [4], 6)], Eq("i,j->ij"))),
            C("sum out own axis", g => g.Op("Einsum", [Param(g, "a", [3, 4], 7), Param(g, "b", [3], 8)], Eq("ij,i->i"))),
            C("transpose", g => g.Op("Einsum", [Param(g, "a", [3, 4], 9)], Eq("ij->ji"))));
    }
}
