using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Normalization;

public sealed class BatchNormalizationTests
{
    private sealed record Stats(float[] Gamma, float[] Beta, float[] Mean, float[] Var);

    private static Stats RandomStats(int c) => new(
        Reference.Random(c, 20).Select(v => 1 + v / 2).ToArray(), Reference.Random(c, 21),
        Reference.Random(c, 22), Reference.Random(c, 23).Select(v => 0.5f + Math.Abs(v)).ToArray());

    private static void Assign(BatchNormalization bn, Stats s)
    {
        bn.Gamma!.Assign(s.Gamma);
        bn.Beta!.Assign(s.Beta);
        bn.MovingMean.Assign(s.Mean);
        bn.MovingVariance.Assign(s.Var);
    }

    /// <summary>Channel of each flat element for a feature axis.</summary>
    private static int ChannelOf(int flat, int[] dims, int axis)
    {
        var inner = dims.Skip(axis + 1).Aggregate(1, (p, d) => p * d);
        return flat / inner % dims[axis];
    }

    public static TheoryData<int[], int> Shapes => new()
    {
        { [4, 3], -1 },
        { [2, 4, 3], -1 },
        { [2, 3, 4, 4], 1 },
        { [3, 2, 3, 2], 2 },
    };

    [Fact]
    public void ExportsPassOnnxCheckerInBothModes() =>
        OnnxChecker.Check(Shapes.SelectMany(c =>
        {
            var dims = (int[])c[0];
            return new[] { false, true }.Select(training =>
                LayerHarness.Export(new BatchNormalization(axis: (int)c[1]), dims, options: new ExportOptions { Training = training }));
        }).ToArray());

    [Theory]
    [MemberData(nameof(Shapes))]
    public void InferenceUsesMovingStatistics(int[] dims, int axis)
    {
        var a = axis < 0 ? axis + dims.Length : axis;
        var c = dims[a];
        var bn = new BatchNormalization(axis: axis, epsilon: 0.01);
        var s = RandomStats(c);
        var x = Reference.Random(ConvReference.Count(dims), 24, 3);
        var (y, yDims) = LayerHarness.Run(bn, x, dims, afterBuild: () => Assign(bn, s));
        var expected = x.Select((v, i) =>
        {
            var ch = ChannelOf(i, dims, a);
            return (float)(s.Gamma[ch] * (v - s.Mean[ch]) / Math.Sqrt(s.Var[ch] + 0.01) + s.Beta[ch]);
        }).ToArray();
        Assert.Equal(dims, yDims);
        Reference.AssertClose(expected, y);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void TrainingNormalizesWithBatchStatisticsAndUpdatesMovingOnes(int[] dims, int axis)
    {
        var a = axis < 0 ? axis + dims.Length : axis;
        var c = dims[a];
        var bn = new BatchNormalization(axis: axis, momentum: 0.9, epsilon: 0.001);
        var s = RandomStats(c);
        var onnx = LayerHarness.Export(bn, dims, () => Assign(bn, s), new ExportOptions { Training = true });
        var x = Reference.Random(ConvReference.Count(dims), 25, 2);
        var outs = Ort.Run(onnx, (onnx.Graph.Input[0].Name, x, dims));
        Assert.Equal(3, outs.Count);

        var sum = new double[c];
        var count = new int[c];
        for (var i = 0; i < x.Length; i++) { sum[ChannelOf(i, dims, a)] += x[i]; count[ChannelOf(i, dims, a)]++; }
        var mean = sum.Select((v, ch) => v / count[ch]).ToArray();
        var sq = new double[c];
        for (var i = 0; i < x.Length; i++) { var d = x[i] - mean[ChannelOf(i, dims, a)]; sq[ChannelOf(i, dims, a)] += d * d; }
        var variance = sq.Select((v, ch) => v / count[ch]).ToArray(); // biased, as Keras's ops.moments
        var expected = x.Select((v, i) =>
        {
            var ch = ChannelOf(i, dims, a);
            return (float)(s.Gamma[ch] * (v - mean[ch]) / Math.Sqrt(variance[ch] + 0.001) + s.Beta[ch]);
        }).ToArray();
        Reference.AssertClose(expected, outs[onnx.Graph.Output[0].Name].Data);

        var newMean = outs.Single(o => o.Key.EndsWith("moving_mean/new", StringComparison.Ordinal)).Value.Data;
        var newVar = outs.Single(o => o.Key.EndsWith("moving_variance/new", StringComparison.Ordinal)).Value.Data;
        Reference.AssertClose(s.Mean.Select((m, ch) => (float)(0.9 * m + 0.1 * mean[ch])).ToArray(), newMean, what: "moving_mean");
        Reference.AssertClose(s.Var.Select((m, ch) => (float)(0.9 * m + 0.1 * variance[ch])).ToArray(), newVar, what: "moving_variance");
    }

    [Fact]
    public void FrozenLayerKeepsInferenceBehaviourInTraining()
    {
        var bn = new BatchNormalization(new BatchNormalizationConfig { Trainable = false });
        var onnx = LayerHarness.Export(bn, [2, 3], options: new ExportOptions { Training = true });
        Assert.Single(onnx.Graph.Output);
        var (y, _) = Ort.Run1(onnx, [1, 2, 3, 4, 5, 6], [2, 3]);
        // Fresh moving stats (0, 1): y = x/√(1 + ε).
        Reference.AssertClose(new float[] { 1, 2, 3, 4, 5, 6 }.Select(v => (float)(v / Math.Sqrt(1.001))).ToArray(), y);
    }

    [Fact]
    public void HasKerasWeightsAndCounts()
    {
        var bn = new BatchNormalization();
        _ = bn.Apply(Input.Of(5, 5, 8));
        Assert.Equal(["gamma", "beta", "moving_mean", "moving_variance"], bn.Weights.Select(w => w.ShortName));
        Assert.Equal(32, bn.CountParams());
        Assert.Equal(16, bn.TrainableWeights.Sum(w => w.Size));
    }
}
