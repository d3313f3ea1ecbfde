using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Attention;

public sealed class TransformerEncoderTests
{
    private const int B = 2, T = 3, D = 4, Heads = 2, Inter = 5;

    private static float[] Add(float[] a, float[] b) => a.Select((v, i) => v + b[i]).ToArray();

    private static float[] FeedForward(float[] x, IReadOnlyList<float[]> w) =>
        Reference.Dense(Reference.Dense(x, B * T, D, w[12], Inter, w[13]).Select(v => Math.Max(0, v)).ToArray(), B * T, Inter, w[14], D, w[15]);

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public void BlockMatchesComposedReferences(bool normalizeFirst, bool withMask)
    {
        var x = Input.Of([T, D], name: "x");
        var m = withMask ? Input.Of([T, T], name: "mask") : null;
        var encoder = new TransformerEncoder(Inter, Heads, normalizeFirst: normalizeFirst);
        var y = encoder.Apply(m is null ? [x] : [x, m], new Dictionary<string, object?>());
        var model = new Functional(m is null ? [x] : [x, m], [y]);
        AttentionReference.Randomize(encoder, 5);
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var xs = Reference.Random(B * T * D, 9);
        var mask = Enumerable.Range(0, B * T * T).Select(i => i % T == T - 1 && i % 2 == 0 ? 0f : 1f).ToArray();
        var feeds = new List<(string, float[], int[])> { ("x", xs, [B, T, D]) };
        if (withMask) feeds.Add(("mask", mask, [B, T, T]));
        var got = Ort.Run(onnx, [.. feeds]).Values.Single();

        var w = encoder.Weights.Select(v => v.Data).ToList();
        const double eps = 1e-5;
        float[] Mha(float[] h) => AttentionReference.MultiHead(h, h, h, B, T, T, D, D, D, Heads, D / Heads, D / Heads, w.Take(8).ToList(), D,
            (b, i, j) => !withMask || mask[(b * T + i) * T + j] > 0.5f);
        float[] expected;
        if (normalizeFirst)
        {
            var a = Add(xs, Mha(AttentionReference.LayerNorm(xs, D, w[8], w[9], eps)));
            expected = Add(a, FeedForward(AttentionReference.LayerNorm(a, D, w[10], w[11], eps), w));
        }
        else
        {
            var a = AttentionReference.LayerNorm(Add(xs, Mha(xs)), D, w[8], w[9], eps);
            expected = AttentionReference.LayerNorm(Add(a, FeedForward(a, w)), D, w[10], w[11], eps);
        }
        Reference.AssertClose(expected, got.Data);
    }

    [Fact]
    public void PaddingMaskInputMasksKeys()
    {
        var x = Input.Of([T, D], name: "x");
        var p = Input.Of([T], name: "padding");
        var encoder = new TransformerEncoder(Inter, Heads);
        var model = new Functional([x, p], [encoder.Apply(x, p)]);
        AttentionReference.Randomize(encoder, 15);
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var xs = Reference.Random(B * T * D, 2);
        float[] padding = [1, 1, 0, 1, 0, 0];
        var got = Ort.Run(onnx, ("x", xs, [B, T, D]), ("padding", padding, [B, T])).Values.Single().Data;
        var w = encoder.Weights.Select(v => v.Data).ToList();
        var attn = AttentionReference.MultiHead(xs, xs, xs, B, T, T, D, D, D, Heads, D / Heads, D / Heads, w.Take(8).ToList(), D,
            (b, _, j) => padding[b * T + j] > 0.5f);
        var a = AttentionReference.LayerNorm(Add(xs, attn), D, w[8], w[9], 1e-5);
        Reference.AssertClose(AttentionReference.LayerNorm(Add(a, FeedForward(a, w)), D, w[10], w[11], 1e-5), got);
    }

    [Fact]
    public void WeightsAreTheSubLayersWeights()
    {
        var x = Input.Of(T, 8);
        var encoder = new TransformerEncoder(16, 2, dropout: 0.1);
        new Functional(x, encoder.Apply(x));
        Assert.Equal(4 * 8 * 8 + 4 * 8 + 2 * (2 * 8) + 8 * 16 + 16 + 16 * 8 + 8, encoder.CountParams());
        Assert.Equal(16, encoder.Weights.Count);
        Assert.EndsWith("self_attention_layer/query/kernel", encoder.Weights[0].Path);
        Assert.StartsWith(encoder.Name + "/", encoder.Weights[^1].Path);
    }

    [Fact]
    public void TrainingExportHasDropoutAndNoFusedNorm()
    {
        var x = Input.Of(T, D);
        var model = new Functional(x, new TransformerEncoder(Inter, Heads, dropout: 0.2).Apply(x));
        var onnx = model.ToOnnx(new ExportOptions { Training = true });
        OnnxChecker.Check(onnx);
        Assert.Contains(onnx.Graph.Node, n => n.OpType == "Dropout");
        Assert.DoesNotContain(onnx.Graph.Node, n => n.OpType == "LayerNormalization");
        Assert.Equal([B, T, D], Ort.Run1(onnx, Reference.Random(B * T * D, 1), [B, T, D]).Dims);
    }
}
