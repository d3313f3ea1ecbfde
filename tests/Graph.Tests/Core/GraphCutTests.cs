using NeuralService.Graph.Core;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Core;

/// <summary>Cutting an imported CNTK-style ResNet (<see cref="TinyResNet"/>) at a block's input and output.</summary>
public sealed class GraphCutTests
{
    [Fact]
    public void CutHoldsOnlyTheBlocksNodesAndInitializers()
    {
        var model = TinyResNet.Build();
        var cut = GraphCut.Of(model, TinyResNet.BlockInput, TinyResNet.BlockOutput);
        Assert.Equal(["Conv", "BatchNormalization", "Relu", "Conv", "BatchNormalization", "Conv", "BatchNormalization", "Add", "Relu"],
            cut.Nodes.Select(n => n.OpType).ToArray());
        Assert.Equal(TinyResNet.BlockInitializers(model).Order(), cut.Initializers.Select(t => t.Name).Order());
        // Imported at opset 17: BatchNormalization lost CNTK's 'spatial'.
        Assert.All(cut.Nodes.Where(n => n.OpType == "BatchNormalization"), n => Assert.DoesNotContain(n.Attribute, a => a.Name == "spatial"));
        Assert.Equal("[1, 4, 6, 6]", cut.InputType.Shape.ToString());
    }

    /// <summary>Bottom and top cut as models of their own, batch 3, chained: the same as the whole fixed-batch-1 model
    /// run on each image.</summary>
    [Fact]
    public void BottomAndTopModelsTakeAnyBatchAndComposeToTheWholeModel()
    {
        var model = TinyResNet.Build();
        var bottom = GraphCut.Of(model, TinyResNet.Image, TinyResNet.BlockInput).ToModel();
        var top = GraphCut.Of(model, TinyResNet.BlockInput, TinyResNet.Output).ToModel();
        OnnxChecker.Check(bottom, top);
        Assert.Equal("batch", bottom.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        const int n = 3;
        var images = TinyResNet.Images(n, seed: 5);
        int[] dims = [n, TinyResNet.Channels, TinyResNet.Side, TinyResNet.Side];
        var features = Ort.Run1(bottom, images, dims);
        Assert.Equal([n, TinyResNet.Width, TinyResNet.Side, TinyResNet.Side], features.Dims);
        var pooled = Ort.Run1(top, features.Data, features.Dims);
        Assert.Equal([n, TinyResNet.Width, 1, 1], pooled.Dims);
        var per = images.Length / n;
        for (var i = 0; i < n; i++)
        {
            var whole = Ort.Run1(model, images.AsSpan(i * per, per).ToArray(), [1, .. dims[1..]]);
            Reference.AssertClose(whole.Data, pooled.Data.AsSpan(i * TinyResNet.Width, TinyResNet.Width).ToArray(), 1e-5, $"image {i}");
        }
    }

    [Fact]
    public void CutThatNeedsAnotherGraphInputIsRefused()
    {
        // The projection branch alone does not contain the main branch's input.
        var e = Assert.Throws<GraphException>(() => GraphCut.Of(TinyResNet.Build(), "block_relu1", TinyResNet.BlockOutput));
        Assert.Contains($"reads graph input '{TinyResNet.Image}'", e.Message);
        Assert.Throws<GraphException>(() => GraphCut.Of(TinyResNet.Build(), "no_such_value", TinyResNet.BlockOutput));
    }
}
