using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Normalization;

public sealed class LayerNormalizationTests
{
    private static (Functional Model, LayerNormalization Layer) Build(LayerNormalizationConfig config, params int[] shape)
    {
        var x = Input.Of(shape);
        var ln = new LayerNormalization(config);
        var model = new Functional(x, ln.Apply(x));
        AttentionReference.Randomize(ln, 7);
        return (model, ln);
    }

    [Fact]
    public void FusedInferenceAndDecomposedTrainingGiveTheReferenceNumbers()
    {
        var (model, ln) = Build(new LayerNormalizationConfig { Epsilon = 1e-3 }, 4, 6);
        var x = Reference.Random(2 * 4 * 6, 3, 2f);
        var expected = AttentionReference.LayerNorm(x, 6, ln.Weights[0].Data, ln.Weights[1].Data, 1e-3);
        var inference = model.ToOnnx();
        var training = model.ToOnnx(new ExportOptions { Training = true });
        OnnxChecker.Check(inference, training);
        Assert.Contains(inference.Graph.Node, n => n.OpType == "LayerNormalization");
        Assert.DoesNotContain(training.Graph.Node, n => n.OpType == "LayerNormalization");
        Reference.AssertClose(expected, Ort.Run1(inference, x, [2, 4, 6]).Data, what: "fused");
        Reference.AssertClose(expected, Ort.Run1(training, x, [2, 4, 6]).Data, what: "decomposed");
    }

    [Fact]
    public void UnfusedInferenceMatchesFused()
    {
        var (model, ln) = Build(new LayerNormalizationConfig { Center = false }, 5);
        ln.UseFusedOp = false;
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        Assert.DoesNotContain(onnx.Graph.Node, n => n.OpType == "LayerNormalization");
        Assert.Single(ln.Weights);
        var x = Reference.Random(3 * 5, 4);
        Reference.AssertClose(AttentionReference.LayerNorm(x, 5, ln.Weights[0].Data, null, 1e-3), Ort.Run1(onnx, x, [3, 5]).Data);
    }

    [Fact]
    public void SeveralTrailingAxesNormalizeTogether()
    {
        var (model, ln) = Build(new LayerNormalizationConfig { Axis = [1, 2] }, 3, 4);
        Assert.Equal([3L, 4L], ln.Weights[0].Shape);
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var x = Reference.Random(2 * 12, 5);
        Reference.AssertClose(AttentionReference.LayerNorm(x, 12, ln.Weights[0].Data, ln.Weights[1].Data, 1e-3), Ort.Run1(onnx, x, [2, 3, 4]).Data);
    }

    [Fact]
    public void NonTrailingAxisUsesReshapedParameters()
    {
        var (model, ln) = Build(new LayerNormalizationConfig { Axis = [1] }, 3, 2);
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var x = Reference.Random(2 * 3 * 2, 6);
        // Normalize over axis 1 (length 3) for each (b, c): transpose to rows of 3, then back.
        var rows = new float[x.Length];
        for (var b = 0; b < 2; b++) for (var t = 0; t < 3; t++) for (var c = 0; c < 2; c++) rows[(b * 2 + c) * 3 + t] = x[(b * 3 + t) * 2 + c];
        var normed = AttentionReference.LayerNorm(rows, 3, ln.Weights[0].Data, ln.Weights[1].Data, 1e-3);
        var expected = new float[x.Length];
        for (var b = 0; b < 2; b++) for (var t = 0; t < 3; t++) for (var c = 0; c < 2; c++) expected[(b * 3 + t) * 2 + c] = normed[(b * 2 + c) * 3 + t];
        Reference.AssertClose(expected, Ort.Run1(onnx, x, [2, 3, 2]).Data);
    }

    [Fact]
    public void RmsScalingHasOnlyGamma()
    {
        var (model, ln) = Build(new LayerNormalizationConfig { RmsScaling = true, Epsilon = 1e-6 }, 2, 8);
        Assert.Equal(8, ln.CountParams());
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var x = Reference.Random(2 * 2 * 8, 8);
        Reference.AssertClose(AttentionReference.LayerNorm(x, 8, ln.Weights[0].Data, null, 1e-6, rms: true), Ort.Run1(onnx, x, [2, 2, 8]).Data);
    }

    [Fact]
    public void CountsGammaAndBetaLikeKeras() => Assert.Equal(2 * 22, Build(new LayerNormalizationConfig(), 24, 22).Layer.CountParams());

    [Fact]
    public void RejectsBadArguments()
    {
        Assert.Contains("-1", Assert.Throws<ArgumentException>(() => new LayerNormalization(new LayerNormalizationConfig { Epsilon = -1 })).Message);
        Assert.Throws<ArgumentException>(() => new LayerNormalization(new LayerNormalizationConfig { Axis = [] }));
    }
}
