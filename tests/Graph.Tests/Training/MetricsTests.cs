using NeuralService.Graph.Core;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Training;

public sealed class MetricsTests
{
    [Fact]
    public void AccuracyResolvesByTheLossAsInKerasCompile()
    {
        Assert.Equal("sparse_categorical_accuracy", Metrics.Canonical("accuracy", "sparse_categorical_crossentropy"));
        Assert.Equal("binary_accuracy", Metrics.Canonical("acc", "bce"));
        Assert.Equal("categorical_accuracy", Metrics.Canonical("accuracy", "categorical_crossentropy"));
        Assert.Equal("mean_absolute_error", Metrics.Canonical("mae", "mse"));
    }

    [Fact]
    public void SparseAndCategoricalAccuracyCountArgmaxHits()
    {
        var g = new GraphBuilder();
        var labels = g.AddInput("labels", DataType.Int64, Shape.Of(4));
        var onehot = g.AddInput("onehot", DataType.Float, Shape.Of(4, 3));
        var pred = g.AddInput("pred", DataType.Float, Shape.Of(4, 3));
        g.AddOutput(Metrics.Build(g, "accuracy", "sparse_categorical_crossentropy", labels, pred), "sparse");
        g.AddOutput(Metrics.Build(g, "accuracy", "categorical_crossentropy", onehot, pred), "categorical");
        var model = g.ToModel("metrics");
        OnnxChecker.Check(model);
        float[] p = [0.1f, 0.8f, 0.1f, 0.6f, 0.3f, 0.1f, 0.2f, 0.2f, 0.6f, 0.3f, 0.4f, 0.3f];
        long[] y = [1, 0, 0, 2]; // argmax of the rows: 1, 0, 2, 1 → 2 hits
        using var session = new OrtSession(model);
        var outs = session.Run([Feed.L("labels", y, 4), Feed.F("onehot", LossHarness.OneHot(y.Select(v => (int)v).ToArray(), 3), 4, 3), Feed.F("pred", p, 4, 3)]);
        Assert.Equal(0.5f, outs["sparse"][0]);
        Assert.Equal(0.5f, outs["categorical"][0]);
    }

    [Fact]
    public void BinaryAccuracyThresholdsAtOneHalf()
    {
        var g = new GraphBuilder();
        var t = g.AddInput("t", DataType.Float, Shape.Of(4, 1));
        var p = g.AddInput("p", DataType.Float, Shape.Of(4, 1));
        g.AddOutput(Metrics.Build(g, "binary_accuracy", "bce", t, p), "acc");
        var got = Ort.Run(g.ToModel("acc"), ("t", [1, 0, 1, 0], [4, 1]), ("p", [0.7f, 0.2f, 0.4f, 0.9f], [4, 1]))["acc"].Data;
        Assert.Equal(0.5f, got[0]);
    }
}
