using NeuralService.Graph.Onnx;
using static NeuralService.Graph.Tests.Support.GradientTesting;

namespace NeuralService.Graph.Tests.Autodiff;

public sealed class NormalizationGradientTests
{
    [SkippableFact]
    public void BatchNormalizationInference()
    {
        CheckAll(
            C("2d", g => g.Op("BatchNormalization", [Param(g, "x", [2, 3, 4, 4], 1), Param(g, "scale", [3], 2), Param(g, "b", [3], 3),
                Param(g, "mean", [3], 4, 0.3f), Param(g, "var", [3], 5, 0.3f, 1f)], Attr.Float("epsilon", 1e-3f))),
            C("1d", g => g.Op("BatchNormalization", [Param(g, "x", [4, 2, 5], 6), Param(g, "scale", [2], 7), Param(g, "b", [2], 8),
                Param(g, "mean", [2], 9, 0.3f), Param(g, "var", [2], 10, 0.3f, 1f)])),
            C("0d spatial", g => g.Op("BatchNormalization", [Param(g, "x", [5, 3], 11), Param(g, "scale", [3], 12), Param(g, "b", [3], 13),
                Param(g, "mean", [3], 14, 0.3f), Param(g, "var", [3], 15, 0.3f, 1f)])));
    }

    [SkippableFact]
    public void BatchNormalizationTraining()
    {
        CheckAll(
            C("2d training", g => g.Node("BatchNormalization", [Param(g, "x", [3, 2, 3, 3], 1), Param(g, "scale", [2], 2), Param(g, "b", [2], 3),
                g.Constant(Tensors.Create("mean", [0.1f, -0.2f], 2), "mean"), g.Constant(Tensors.Create("var", [1.2f, 0.8f], 2), "var")],
                [Attr.Int("training_mode", 1), Attr.Float("momentum", 0.9f)], 3)[0]),
            C("1d training", g => g.Node("BatchNormalization", [Param(g, "x", [4, 3, 2], 4), Param(g, "scale", [3], 5), Param(g, "b", [3], 6),
                g.Constant(Tensors.Create("mean", [0f, 0f, 0f], 3), "mean"), g.Constant(Tensors.Create("var", [1f, 1f, 1f], 3), "var")],
                [Attr.Int("training_mode", 1)], 3)[0]));
    }

    [SkippableFact]
    public void InstanceNormalization()
    {
        CheckAll(
            C("2d", g => g.Op("InstanceNormalization", Param(g, "x", [2, 3, 4, 3], 1), Param(g, "scale", [3], 2), Param(g, "b", [3], 3))),
            C("1d", g => g.Op("InstanceNormalization", [Param(g, "x", [3, 2, 5], 4), Param(g, "scale", [2], 5), Param(g, "b", [2], 6)],
                Attr.Float("epsilon", 1e-3f))));
    }

    [SkippableFact]
    public void LayerNormalization()
    {
        CheckAll(
            C("last axis", g => g.Op("LayerNormalization", Param(g, "x", [2, 3, 5], 1), Param(g, "scale", [5], 2), Param(g, "b", [5], 3))),
            C("two axes", g => g.Op("LayerNormalization", [Param(g, "x", [2, 3, 4], 4), Param(g, "scale", [3, 4], 5), Param(g, "b", [4], 6)],
                Attr.Int("axis", 1), Attr.Float("epsilon", 1e-3f))),
            C("no bias", g => g.Op("LayerNormalization", Param(g, "x", [4, 6], 7), Param(g, "scale", [6], 8))));
    }
}
