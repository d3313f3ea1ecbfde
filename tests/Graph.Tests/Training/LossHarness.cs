using NeuralService.Graph.Core;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Training;

/// <summary>Emits one loss into a fresh graph (y_true, y_pred, optional sample weight as inputs), checks the graph with
/// the ONNX checker and runs it in ONNX Runtime.</summary>
internal static class LossHarness
{

    /// <summary>The loss as a standalone model with inputs y_true, y_pred and (when <paramref name="weighted"/>) sample_weight.</summary>
    public static global::Onnx.ModelProto Build(LossSpec spec, int[] trueDims, int[] predDims, bool weighted)
    {
        var g = new GraphBuilder();
        var t = g.AddInput("y_true", spec.SparseLabels ? DataType.Int64 : DataType.Float, Shape.Of(trueDims.Select(d => (long)d).ToArray()));
        var p = g.AddInput("y_pred", DataType.Float, Shape.Of(predDims.Select(d => (long)d).ToArray()));
        var w = weighted ? g.AddInput("sample_weight", DataType.Float, Shape.Of(predDims[0])) : null;
        g.AddOutput(Losses.Build(g, spec, t, p, w), "loss");
        return g.ToModel("loss_test");
    }

    /// <summary>Runs the loss in ONNX Runtime (the ONNX checker sees these graphs in <c>LossGraphTests</c>, in one Python run).</summary>
    public static float[] Run(LossSpec spec, float[] yTrue, int[] trueDims, float[] yPred, int[] predDims, float[]? sampleWeight = null)
    {
        var model = Build(spec, trueDims, predDims, sampleWeight is not null);
        using var session = new OrtSession(model);
        var feeds = new List<Feed>
        {
            spec.SparseLabels ? Feed.L("y_true", yTrue.Select(v => (long)v).ToArray(), trueDims) : Feed.F("y_true", yTrue, trueDims),
            Feed.F("y_pred", yPred, predDims),
        };
        if (sampleWeight is not null) feeds.Add(Feed.F("sample_weight", sampleWeight, sampleWeight.Length));
        return session.Run(feeds)["loss"];
    }

    /// <summary>Σ w·l / count (sum_over_batch_size), the Keras default reduction, of per-sample losses.</summary>
    public static float Mean(double[] perSample, float[]? w = null) =>
        (float)(perSample.Select((l, i) => l * (w?[i] ?? 1)).Sum() / perSample.Length);

    /// <summary>Uniform values in (lo, hi).</summary>
    public static float[] Uniform(int n, int seed, double lo, double hi)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(lo + (hi - lo) * rng.NextDouble())).ToArray();
    }

    /// <summary>Rows of positive values summing to 1.</summary>
    public static float[] Distributions(int rows, int cols, int seed)
    {
        var x = Uniform(rows * cols, seed, 0.05, 1);
        for (var r = 0; r < rows; r++)
        {
            var s = Enumerable.Range(0, cols).Sum(c => x[r * cols + c]);
            for (var c = 0; c < cols; c++) x[r * cols + c] /= s;
        }
        return x;
    }

    public static float[] OneHot(int[] labels, int cols)
    {
        var y = new float[labels.Length * cols];
        for (var r = 0; r < labels.Length; r++) y[r * cols + labels[r]] = 1;
        return y;
    }
}
