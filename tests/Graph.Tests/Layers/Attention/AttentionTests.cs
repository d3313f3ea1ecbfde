using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Attention;

public sealed class AttentionTests
{
    private const int B = 2, Tq = 3, Tv = 4, D = 5;

    /// <summary>y[b,i,:] = Σ_j softmax_j(score(i, j))·v[b,j,:] with causal masking when asked.</summary>
    private static float[] Reference(float[] q, float[] v, float[] k, Func<int, int, int, double> score, bool causal)
    {
        var y = new float[B * Tq * D];
        for (var b = 0; b < B; b++)
            for (var i = 0; i < Tq; i++)
            {
                var s = Enumerable.Range(0, Tv).Select(j => score(b, i, j)).ToArray();
                var p = AttentionReference.MaskedSoftmax(s, j => !causal || i >= j);
                for (var d = 0; d < D; d++)
                    y[(b * Tq + i) * D + d] = (float)Enumerable.Range(0, Tv).Sum(j => p[j] * v[(b * Tv + j) * D + d]);
            }
        return y;
    }

    private static float[] Run(Layer layer, bool causal, out float[] q, out float[] v, out float[] k)
    {
        var qi = Input.Of([Tq, D], name: "q");
        var vi = Input.Of([Tv, D], name: "v");
        var ki = Input.Of([Tv, D], name: "k");
        var y = layer.Apply([qi, vi, ki], new Dictionary<string, object?> { ["use_causal_mask"] = causal });
        var model = new Functional([qi, vi, ki], [y]);
        AttentionReference.Randomize(layer, 3, 1.5f);
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        (q, v, k) = (Support.Reference.Random(B * Tq * D, 1), Support.Reference.Random(B * Tv * D, 2), Support.Reference.Random(B * Tv * D, 3));
        var got = Ort.Run(onnx, ("q", q, [B, Tq, D]), ("v", v, [B, Tv, D]), ("k", k, [B, Tv, D])).Values.Single();
        Assert.Equal([B, Tq, D], got.Dims);
        return got.Data;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DotProductWithScaleMatchesPlainLoops(bool causal)
    {
        var layer = new NeuralService.Graph.Layers.Attention(useScale: true);
        var got = Run(layer, causal, out var q, out var v, out var k);
        Assert.Equal(1, layer.CountParams());
        var scale = layer.Weights[0].Data[0];
        var expected = Reference(q, v, k, (b, i, j) => scale * Enumerable.Range(0, D).Sum(d => (double)q[(b * Tq + i) * D + d] * k[(b * Tv + j) * D + d]), causal);
        Support.Reference.AssertClose(expected, got);
    }

    [Fact]
    public void ConcatScoresMatchPlainLoops()
    {
        var layer = new NeuralService.Graph.Layers.Attention(useScale: true, scoreMode: "concat");
        var got = Run(layer, false, out var q, out var v, out var k);
        Assert.Equal(2, layer.CountParams());
        var (scale, c) = (layer.Weights[0].Data[0], layer.Weights[1].Data[0]);
        var expected = Reference(q, v, k, (b, i, j) =>
            c * Enumerable.Range(0, D).Sum(d => Math.Tanh(scale * ((double)q[(b * Tq + i) * D + d] + k[(b * Tv + j) * D + d]))), false);
        Support.Reference.AssertClose(expected, got);
    }

    [Fact]
    public void AdditiveAttentionMatchesPlainLoops()
    {
        var layer = new AdditiveAttention();
        var got = Run(layer, true, out var q, out var v, out var k);
        Assert.Equal(D, layer.CountParams());
        var w = layer.Weights[0].Data;
        var expected = Reference(q, v, k, (b, i, j) =>
            Enumerable.Range(0, D).Sum(d => w[d] * Math.Tanh((double)q[(b * Tq + i) * D + d] + k[(b * Tv + j) * D + d])), true);
        Support.Reference.AssertClose(expected, got);
    }

    [Fact]
    public void KerasMasksDropValueStepsAndZeroQuerySteps()
    {
        var qi = Input.Of([Tq, D], name: "q");
        var vi = Input.Of([Tv, D], name: "v");
        var (qm, vm) = (new ZeroMasking().Apply(qi), new ZeroMasking().Apply(vi));
        var layer = new NeuralService.Graph.Layers.Attention();
        var outs = layer.ApplyMulti([qm, vm], new Dictionary<string, object?> { ["return_attention_scores"] = true });
        var onnx = new Functional([qi, vi], outs).ToOnnx();
        OnnxChecker.Check(onnx);
        var q = ZeroMasking.Blank(Support.Reference.Random(B * Tq * D, 1), Tq, D, (1, 2));
        var v = ZeroMasking.Blank(Support.Reference.Random(B * Tv * D, 2), Tv, D, (0, 1), (1, 3));
        var got = Ort.Run(onnx, ("q", q, [B, Tq, D]), ("v", v, [B, Tv, D]));
        Assert.Equal(2, got.Count);
        var expected = Reference(q, v, v, (b, i, j) => Enumerable.Range(0, D).Sum(d => (double)q[(b * Tq + i) * D + d] * v[(b * Tv + j) * D + d])
            - (b == 0 && j == 1 || b == 1 && j == 3 ? 1e9 : 0), false);
        Array.Clear(expected, (1 * Tq + 2) * D, D);
        Support.Reference.AssertClose(expected, got[onnx.Graph.Output[0].Name].Data);
        var scores = got[onnx.Graph.Output[1].Name];
        Assert.Equal([B, Tq, Tv], scores.Dims);
        Assert.Equal(0f, scores.Data[(0 * Tq + 0) * Tv + 1]);
    }

    [Fact]
    public void RejectsUnknownScoreMode() =>
        Assert.Contains("'general'", Assert.Throws<ArgumentException>(() => new NeuralService.Graph.Layers.Attention(scoreMode: "general")).Message);
}
