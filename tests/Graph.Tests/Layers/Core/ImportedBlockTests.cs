using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;

namespace NeuralService.Graph.Tests.Layers.Core;

/// <summary>A residual block cut from an imported CNTK-style ResNet as a layer under a new head.</summary>
public sealed class ImportedBlockTests
{
    /// <summary>block input → block → GlobalAveragePooling2D (channels first) → Dense(3, softmax).</summary>
    public static (Functional Model, ImportedBlock Block) HeadOnBlock(bool trainable, string name = "block")
    {
        var cut = GraphCut.Of(TinyResNet.Build(), TinyResNet.BlockInput, TinyResNet.BlockOutput);
        var x = Input.Of([TinyResNet.Width, TinyResNet.Side, TinyResNet.Side], name + "_input");
        var block = new ImportedBlock(cut, name: name, trainable: trainable);
        var h = new GlobalAveragePooling2D(new GlobalPoolingConfig { Name = name + "_pool", DataFormat = "channels_first" }).Apply(block.Apply(x));
        var y = new Dense(3, "softmax", name: name + "_classes").Apply(h);
        return (new Functional(x, y, name + "_model"), block);
    }

    [Fact]
    public void ConvolutionsAndNormScaleBiasTrainButNormStatisticsDoNot()
    {
        var (model, block) = HeadOnBlock(trainable: true);
        Assert.Equal(15, block.Weights.Count);
        var trainable = block.TrainableWeights.Select(w => w.ShortName).Order().ToArray();
        Assert.Equal(["block_bn1_bias", "block_bn1_scale", "block_bn2_bias", "block_bn2_scale", "block_conv1_W", "block_conv2_W",
            "block_proj_W", "block_proj_bn_bias", "block_proj_bn_scale"], trainable);
        Assert.Equal(TinyResNet.Build().Graph.Initializer.Where(t => t.Name.StartsWith("block_", StringComparison.Ordinal)).Sum(t => t.Dims.Aggregate(1L, (p, d) => p * d)),
            block.CountParams());
        block.Trainable = false;
        Assert.Empty(block.TrainableWeights);
        Assert.Equal("(None, 4, 3, 3)", model.Layers.Single(l => l == block).InboundNodes[0].Outputs[0].Shape.ToKerasString());
    }

    /// <summary>Frozen, the block's weights are constants of the train step; unfrozen, exactly its trainable weights
    /// become parameters (inputs with updated outputs). Both graphs pass the ONNX checker.</summary>
    [Fact]
    public void FreezingDecidesWhichWeightsTheTrainStepUpdates()
    {
        var (model, block) = HeadOnBlock(trainable: false);
        var frozen = TrainingGraph.Compile(model, "sparse_categorical_crossentropy", new Adam { LearningRate = 1e-3 }, ["accuracy"]);
        Assert.Equal(["block_classes/bias", "block_classes/kernel"], frozen.Signature.Parameters.Select(p => p.Weight!.Path).Order().ToArray());
        block.Trainable = true;
        var unfrozen = TrainingGraph.Compile(model, "sparse_categorical_crossentropy", new Adam { LearningRate = 1e-5 }, ["accuracy"]);
        var expected = block.TrainableWeights.Select(w => w.Path).Append("block_classes/bias").Append("block_classes/kernel").Order().ToArray();
        Assert.Equal(expected, unfrozen.Signature.Parameters.Select(p => p.Weight!.Path).Order().ToArray());
        OnnxChecker.Check(frozen.Model, unfrozen.Model);
    }

    /// <summary>Gradients of the exported block + head (batch 2) with respect to every weight, BatchNorm statistics
    /// included, against float64 central differences.</summary>
    [SkippableFact]
    public void GradientsThroughBlockAndHeadMatchFiniteDifferences()
    {
        var (model, _) = HeadOnBlock(trainable: true);
        var onnx = model.ToOnnx();
        var x = Reference.Random(2 * TinyResNet.Width * TinyResNet.Side * TinyResNet.Side, 17);
        var inputs = new Dictionary<string, global::Onnx.TensorProto>
        {
            ["block_input"] = Tensors.Create("block_input", x, 2, TinyResNet.Width, TinyResNet.Side, TinyResNet.Side),
        };
        var result = GradientTesting.Run(onnx, inputs, new GradCheckOptions());
        Assert.Equal(15 + 2, result.Parameters.Count);
        Assert.True(result.Passed, result.ToString());
        Assert.All(result.GradientModel.Graph.Node, n => Assert.Equal("", n.Domain));
    }
}
