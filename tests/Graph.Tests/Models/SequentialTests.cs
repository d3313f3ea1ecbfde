using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Models;

public sealed class SequentialTests
{
    private static Sequential Mlp() => new([
        new InputLayer(new InputLayerConfig { BatchShape = [null, 20] }),
        new Dense(64, "relu"), new Dense(32, "relu"), new Dense(10, "softmax"),
    ], "mlp");

    [Fact]
    public void MlpCountsParametersLikeKeras() =>
        Assert.Equal(20 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10, Mlp().CountParams());

    [Fact]
    public void MlpExportsValidOnnxThatMatchesPlainLoops()
    {
        var model = Mlp();
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var x = Reference.Random(3 * 20, 1);
        var (y, dims) = Ort.Run1(onnx, x, [3, 20]);
        Assert.Equal([3, 10], dims);
        var h = x;
        var inDim = 20;
        foreach (var layer in model.StackedLayers.Cast<Dense>())
        {
            var w = layer.Weights[0].Data;
            h = Reference.Dense(h, 3, inDim, w, layer.Config.Units, layer.Weights[1].Data);
            h = layer.Config.Activation == "relu" ? h.Select(v => Math.Max(0, v)).ToArray() : Reference.Softmax(h, 3, layer.Config.Units);
            inDim = layer.Config.Units;
        }
        Reference.AssertClose(h, y);
    }

    [Fact]
    public void SummaryEndsWithTotalParams()
    {
        var summary = Mlp().Summary();
        Assert.EndsWith("Total params: 3754", summary);
        Assert.Contains("(None, 64)", summary);
    }
}
