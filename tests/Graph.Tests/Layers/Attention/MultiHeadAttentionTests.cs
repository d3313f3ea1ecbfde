using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Attention;

public sealed class MultiHeadAttentionTests
{
    private const int B = 2, T = 4, D = 6, Heads = 2, KeyDim = 3;

    [Fact]
    public void CountsParametersLikeKeras()
    {
        var x = Input.Of(5, 32);
        var mha = new MultiHeadAttention(numHeads: 2, keyDim: 16);
        mha.ApplyAttention(x, x);
        // q, k, v kernels [32, 2, 16] + biases [2, 16]; output kernel [2, 16, 32] + bias [32].
        Assert.Equal(3 * (32 * 2 * 16 + 2 * 16) + 2 * 16 * 32 + 32, mha.CountParams());
        Assert.Equal(4224, mha.CountParams());
        Assert.Equal([32L, 2, 16], mha.Weights[0].Shape);
        Assert.Equal([2L, 16, 32], mha.Weights[6].Shape);
        Assert.Equal("query/kernel", mha.Weights[0].ShortName);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(true, true)]
    public void SelfAttentionMatchesPlainLoops(bool causal, bool withMask)
    {
        var x = Input.Of([T, D], name: "x");
        var m = withMask ? Input.Of([T, T], name: "mask") : null;
        var mha = new MultiHeadAttention(Heads, KeyDim);
        var y = mha.ApplyAttention(x, x, attentionMask: m, useCausalMask: causal);
        var model = new Functional(m is null ? [x] : [x, m], [y]);
        AttentionReference.Randomize(mha, 11);
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var xs = Reference.Random(B * T * D, 1);
        var mask = Enumerable.Range(0, B * T * T).Select(i => (i * 7 + 3) % 5 == 0 ? 0f : 1f).ToArray();
        var feeds = new List<(string, float[], int[])> { ("x", xs, [B, T, D]) };
        if (withMask) feeds.Add(("mask", mask, [B, T, T]));
        var got = Ort.Run(onnx, [.. feeds]).Values.Single();
        bool Keep(int b, int i, int j) => (!causal || i >= j) && (!withMask || mask[(b * T + i) * T + j] > 0.5f);
        var expected = AttentionReference.MultiHead(xs, xs, xs, B, T, T, D, D, D, Heads, KeyDim, KeyDim,
            mha.Weights.Select(w => w.Data).ToList(), D, Keep);
        Assert.Equal([B, T, D], got.Dims);
        Reference.AssertClose(expected, got.Data);
    }

    [Fact]
    public void CrossAttentionWithKeyValueDimAndOutputShape()
    {
        const int s = 5, dk = 3, dv = 2;
        var q = Input.Of([T, D], name: "q");
        var v = Input.Of([s, dv], name: "v");
        var k = Input.Of([s, dk], name: "k");
        var mha = new MultiHeadAttention(new MultiHeadAttentionConfig { NumHeads = 3, KeyDim = 2, ValueDim = 4, OutputShape = [7] });
        var model = new Functional([q, v, k], [mha.ApplyAttention(q, v, k)]);
        AttentionReference.Randomize(mha, 21);
        Assert.Equal(D * 3 * 2 + 6 + dk * 3 * 2 + 6 + dv * 3 * 4 + 12 + 3 * 4 * 7 + 7, mha.CountParams());
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var (qs, vs, ks) = (Reference.Random(B * T * D, 1), Reference.Random(B * s * dv, 2), Reference.Random(B * s * dk, 3));
        var got = Ort.Run(onnx, ("q", qs, [B, T, D]), ("v", vs, [B, s, dv]), ("k", ks, [B, s, dk])).Values.Single();
        Assert.Equal([B, T, 7], got.Dims);
        var expected = AttentionReference.MultiHead(qs, vs, ks, B, T, s, D, dv, dk, 3, 2, 4, mha.Weights.Select(w => w.Data).ToList(), 7, (_, _, _) => true);
        Reference.AssertClose(expected, got.Data);
    }

    [Fact]
    public void GatedSlidingWindowAttentionMatchesPlainLoops()
    {
        const int t = 6;
        var x = Input.Of([t, D], name: "x");
        var mha = new MultiHeadAttention(new MultiHeadAttentionConfig { NumHeads = Heads, KeyDim = KeyDim, UseGate = true, SlidingWindow = 2 });
        var model = new Functional(x, mha.ApplyAttention(x, x, useCausalMask: true));
        AttentionReference.Randomize(mha, 41);
        Assert.Equal("gate/kernel", mha.Weights[4].ShortName);
        Assert.Equal(4 * (D * Heads * KeyDim + Heads * KeyDim) + Heads * KeyDim * D + D, mha.CountParams());
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var xs = Reference.Random(B * t * D, 6);
        var w = mha.Weights.Select(v => v.Data).ToList();
        var expected = AttentionReference.MultiHead(xs, xs, xs, B, t, t, D, D, D, Heads, KeyDim, KeyDim, [.. w.Take(4), .. w.Skip(6)], D,
            (_, i, j) => i >= j && Math.Abs(i - j) < 2, w[4], w[5]);
        Reference.AssertClose(expected, Ort.Run1(onnx, xs, [B, t, D]).Data);
    }

    [Fact]
    public void UnknownLengthsBuildCausalAndBandMasksAtRunTime()
    {
        var x = Input.Of([null, D], name: "x");
        var mha = new MultiHeadAttention(new MultiHeadAttentionConfig { NumHeads = Heads, KeyDim = KeyDim, SlidingWindow = 3 });
        var outs = mha.ApplyMulti([x, x], new Dictionary<string, object?> { ["use_causal_mask"] = true, ["return_attention_scores"] = true });
        var model = new Functional([x], outs);
        AttentionReference.Randomize(mha, 61);
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        Assert.Contains(onnx.Graph.Node, n => n.OpType == "Range");
        const int t = 5;
        var xs = Reference.Random(B * t * D, 7);
        var got = Ort.Run(onnx, ("x", xs, [B, t, D]));
        var expected = AttentionReference.MultiHead(xs, xs, xs, B, t, t, D, D, D, Heads, KeyDim, KeyDim, mha.Weights.Select(w => w.Data).ToList(), D,
            (_, i, j) => i >= j && i - j < 3);
        Reference.AssertClose(expected, got[onnx.Graph.Output[0].Name].Data);
        var scores = got[onnx.Graph.Output[1].Name];
        Assert.Equal([B, Heads, t, t], scores.Dims);
        Assert.Equal(0f, scores.Data[4 * t + 0]);   // query 4 may not see key 0 (window 3)
        Assert.Equal(1f, scores.Data[0], 5);        // query 0 sees only key 0
    }

    [Fact]
    public void TwoAttentionAxesAttendOverTheFlattenedGrid()
    {
        var x = Input.Of([2, 3, D], name: "grid");
        var mha = new MultiHeadAttention(Heads, KeyDim);
        var model = new Functional(x, mha.ApplyAttention(x, x));
        Assert.Equal([1, 2], mha.AttentionAxes);
        AttentionReference.Randomize(mha, 31);
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var xs = Reference.Random(B * 6 * D, 4);
        var got = Ort.Run1(onnx, xs, [B, 2, 3, D]);
        Assert.Equal([B, 2, 3, D], got.Dims);
        var expected = AttentionReference.MultiHead(xs, xs, xs, B, 6, 6, D, D, D, Heads, KeyDim, KeyDim, mha.Weights.Select(w => w.Data).ToList(), D, (_, _, _) => true);
        Reference.AssertClose(expected, got.Data);
    }

    [Fact]
    public void TrainingExportWithDropoutIsValidAndInferenceHasNoDropout()
    {
        var x = Input.Of(T, D);
        var mha = new MultiHeadAttention(Heads, KeyDim, dropout: 0.1);
        var model = new Functional(x, mha.ApplyAttention(x, x, useCausalMask: true));
        var training = model.ToOnnx(new ExportOptions { Training = true });
        var inference = model.ToOnnx();
        OnnxChecker.Check(training, inference);
        Assert.Contains(training.Graph.Node, n => n.OpType == "Dropout");
        Assert.DoesNotContain(inference.Graph.Node, n => n.OpType == "Dropout");
        var (y, dims) = Ort.Run1(training, Reference.Random(B * T * D, 5), [B, T, D]);
        Assert.Equal([B, T, D], dims);
        Assert.All(y, v => Assert.True(float.IsFinite(v)));
    }

    [Fact]
    public void RejectsBadArguments()
    {
        Assert.Contains("0", Assert.Throws<ArgumentException>(() => new MultiHeadAttention(0, 4)).Message);
        Assert.Contains("1.5", Assert.Throws<ArgumentException>(() => new MultiHeadAttention(2, 4, dropout: 1.5)).Message);
    }
}

public sealed class MultiHeadAttentionKerasMaskTests
{
    [Fact]
    public void QueryAndValueKerasMasksAreApplied()
    {
        const int b = 2, t = 4, d = 3;
        var x = Input.Of([t, d], name: "x");
        var masked = new ZeroMasking().Apply(x);
        var mha = new MultiHeadAttention(2, 2);
        var model = new Functional(x, mha.ApplyAttention(masked, masked));
        AttentionReference.Randomize(mha, 51);
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var xs = ZeroMasking.Blank(Reference.Random(b * t * d, 8), t, d, (0, 3), (1, 1));
        bool Valid(int bb, int tt) => !(bb == 0 && tt == 3 || bb == 1 && tt == 1);
        var expected = AttentionReference.MultiHead(xs, xs, xs, b, t, t, d, d, d, 2, 2, 2, mha.Weights.Select(w => w.Data).ToList(), d,
            (bb, i, j) => Valid(bb, i) && Valid(bb, j));
        Reference.AssertClose(expected, Ort.Run1(onnx, xs, [b, t, d]).Data);
    }
}
