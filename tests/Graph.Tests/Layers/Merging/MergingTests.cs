using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Merging;

public sealed class MergingTests
{
    private static readonly float[] A = Reference.Random(2 * 4, 31);
    private static readonly float[] B = Reference.Random(2 * 4, 32);
    private static readonly float[] C = Reference.Random(2 * 4, 33);

    [Fact]
    public void ElementwiseMergesMatchPlainLoops()
    {
        var inputs = new[] { Input.Of(4), Input.Of(4), Input.Of(4) };
        var outputs = new List<KerasTensor>
        {
            new Add().Apply(inputs), new Subtract().Apply(inputs[0], inputs[1]), new Multiply().Apply(inputs),
            new Average().Apply(inputs), new Maximum().Apply(inputs), new Minimum().Apply(inputs),
        };
        var results = LayerRun.Model(new Functional(inputs, outputs), null, (A, [2, 4]), (B, [2, 4]), (C, [2, 4]));
        Func<float, float, float, float>[] expected =
        [
            (a, b, c) => a + b + c, (a, b, _) => a - b, (a, b, c) => a * b * c,
            (a, b, c) => (a + b + c) / 3, (a, b, c) => Math.Max(a, Math.Max(b, c)), (a, b, c) => Math.Min(a, Math.Min(b, c)),
        ];
        for (var k = 0; k < expected.Length; k++)
            Reference.AssertClose(A.Select((a, i) => expected[k](a, B[i], C[i])).ToArray(), results[k].Data, what: outputs[k].Layer.ClassName);
    }

    [Fact]
    public void SubtractNeedsExactlyTwoInputs()
    {
        var e = Assert.ThrowsAny<Exception>(() => new Subtract().Apply(Input.Of(4), Input.Of(4), Input.Of(4)));
        Assert.Contains("got 3", e.Message);
    }

    [Fact]
    public void ConcatenateOnLastAxis()
    {
        var b = Reference.Random(2 * 3, 34);
        var (y, dims) = LayerRun.Many(new Concatenate(), (A, [2, 4]), (b, [2, 3]));
        Assert.Equal([2, 7], dims);
        var expected = new float[14];
        for (var r = 0; r < 2; r++)
        {
            for (var j = 0; j < 4; j++) expected[r * 7 + j] = A[r * 4 + j];
            for (var j = 0; j < 3; j++) expected[r * 7 + 4 + j] = b[r * 3 + j];
        }
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void DotOfVectorsGivesBatchByOne()
    {
        var (y, dims) = LayerRun.Many(new Dot(1), (A, [2, 4]), (B, [2, 4]));
        Assert.Equal([2, 1], dims);
        var expected = Enumerable.Range(0, 2).Select(r => Enumerable.Range(0, 4).Sum(j => A[r * 4 + j] * B[r * 4 + j])).ToArray();
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void DotNormalizedIsCosineSimilarity()
    {
        var (y, _) = LayerRun.Many(new Dot(-1, normalize: true), (A, [2, 4]), (B, [2, 4]));
        var expected = Enumerable.Range(0, 2).Select(r =>
        {
            double dot = 0, na = 0, nb = 0;
            for (var j = 0; j < 4; j++) { dot += A[r * 4 + j] * B[r * 4 + j]; na += A[r * 4 + j] * A[r * 4 + j]; nb += B[r * 4 + j] * B[r * 4 + j]; }
            return (float)(dot / Math.Sqrt(na) / Math.Sqrt(nb));
        }).ToArray();
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void DotOfSequencesContractsTheGivenAxes()
    {
        // x [2, 3, 4], y [2, 5, 4], axes (2, 2) → [2, 3, 5] (attention scores).
        var x = Reference.Random(2 * 3 * 4, 35);
        var z = Reference.Random(2 * 5 * 4, 36);
        var (y, dims) = LayerRun.Many(new Dot([2, 2]), (x, [2, 3, 4]), (z, [2, 5, 4]));
        Assert.Equal([2, 3, 5], dims);
        var expected = new float[2 * 3 * 5];
        for (var b = 0; b < 2; b++)
            for (var i = 0; i < 3; i++)
                for (var j = 0; j < 5; j++)
                    expected[(b * 3 + i) * 5 + j] = Enumerable.Range(0, 4).Sum(k => x[(b * 3 + i) * 4 + k] * z[(b * 5 + j) * 4 + k]);
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void DotRejectsTheBatchAxis() =>
        Assert.Contains("(0)", Assert.Throws<ArgumentException>(() => new Dot(0)).Message);

    [Fact]
    public void MasksOfEmbeddingsAreAndedThroughAddAndConcatenate()
    {
        var g = new NeuralService.Graph.Core.GraphBuilder();
        var ids = g.AddInput("ids", global::Onnx.TensorProto.Types.DataType.Float, NeuralService.Graph.Core.Shape.Of(NeuralService.Graph.Core.Dim.Batch, 4));
        var ctx = new CallContext();
        var e1 = new Embedding(5, 3, maskZero: true).Emit(g, [ids], ctx)[0];
        var e2 = new Embedding(5, 3, maskZero: true).Emit(g, [ids], ctx)[0];
        var sum = new Add().Emit(g, [e1, e2], ctx)[0];
        var joined = new Concatenate().Emit(g, [e1, e2], ctx)[0];
        var dot = new Dot(2).Emit(g, [e1, e2], ctx)[0];
        Assert.NotNull(ctx.MaskOf(sum));
        Assert.NotNull(ctx.MaskOf(joined));
        Assert.Null(ctx.MaskOf(dot));
    }
}
