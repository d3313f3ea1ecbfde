using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using static NeuralService.Graph.Tests.Support.GradientTesting;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Autodiff;

/// <summary>Resize's gradient (the transposed per-axis interpolation matrix) against finite differences, in the forms
/// the layers emit: Resizing (linear or nearest, half_pixel, NHWC scales), UpSampling (nearest, asymmetric floor), and
/// sizes instead of scales, cubic, and up- and down-scaling together.</summary>
public sealed class ResizeGradientTests
{
    private static Value Resize(GraphBuilder g, Value x, float[]? scales, long[]? sizes, params (string Key, string Value)[] attributes) =>
        g.Node1("Resize", scales is not null ? [x, null, g.Constant(scales, [scales.Length], "scales")] : [x, null, null, g.Ints("sizes", sizes!)],
            attributes.Select(a => Attr.String(a.Key, a.Value)).ToArray());

    [Fact]
    public void ResizeModesMatchFiniteDifferences()
    {
        CheckAll(
            C("linear half_pixel NHWC, down and up", g => Resize(g, Param(g, "x", [2, 4, 5, 3], 1), [1, 0.75f, 1.6f, 1], null,
                ("mode", "linear"), ("coordinate_transformation_mode", "half_pixel"))),
            C("nearest half_pixel round_prefer_ceil", g => Resize(g, Param(g, "x", [1, 5, 3, 2], 2), [1, 0.6f, 2, 1], null,
                ("mode", "nearest"), ("coordinate_transformation_mode", "half_pixel"), ("nearest_mode", "round_prefer_ceil"))),
            C("nearest asymmetric floor (UpSampling)", g => Resize(g, Param(g, "x", [2, 2, 3, 2], 3), [1, 1, 2, 3], null,
                ("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor"))),
            C("linear with sizes", g => Resize(g, Param(g, "x", [1, 2, 4, 4], 4), null, [1, 2, 7, 3],
                ("mode", "linear"), ("coordinate_transformation_mode", "pytorch_half_pixel"))),
            C("cubic align_corners", g => Resize(g, Param(g, "x", [1, 1, 4, 5], 5), [1, 1, 1.5f, 0.8f], null,
                ("mode", "cubic"), ("coordinate_transformation_mode", "align_corners"))));
    }

    /// <summary>Training runs in float32 on ONNX Runtime: the cubic rule's Resize of an identity must run there too. The loss
    /// Σ Resize(X) ⊙ P is linear in X, so a unit step of one element changes it by exactly that element's gradient.</summary>
    [Fact]
    public void CubicGradientRunsInOnnxRuntimeFloat()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(1, 1, 4, 5));
        var y = Resize(g, x, [1, 1, 1.5f, 0.8f], null, ("mode", "cubic"), ("coordinate_transformation_mode", "half_pixel"));
        var p = g.Constant(Tensors.Create("p", Reference.Random(24, 9, 1f), [1, 1, 6, 4]), "p");
        var loss = g.AddOutput(g.Node1("ReduceSum", [g.Mul(y, p)], [Attr.Int("keepdims", 0)]), "loss");
        var forward = g.ToModel();
        var dx = g.AddOutput(NeuralService.Graph.Autodiff.Gradients.Build(g, loss, [x])["x"], "dx");
        int[] dims = [1, 1, 4, 5];
        var x0 = Reference.Random(20, 10, 1f);
        var analytic = Ort.Run(g.ToModel(), ("x", x0, dims))[dx.Name].Data;
        var l0 = Ort.Run(forward, ("x", x0, dims))[loss.Name].Data[0];
        for (var k = 0; k < x0.Length; k++)
        {
            var moved = (float[])x0.Clone();
            moved[k] += 1;
            var change = Ort.Run(forward, ("x", moved, dims))[loss.Name].Data[0] - l0;
            Assert.True(Math.Abs(change - analytic[k]) < 1e-4, $"element {k}: loss change {change}, gradient {analytic[k]}");
        }
    }

    [Fact]
    public void CropAndResizeHasNoRule()
    {
        var g = new GraphBuilder();
        var x = Param(g, "x", [1, 1, 4, 4], 6);
        var y = g.Node1("Resize", [x, g.Constant([0f, 0, 0, 0, 1, 1, 1, 1], [8], "roi"), g.Constant([1f, 1, 2, 2], [4], "scales")],
            [Attr.String("mode", "linear"), Attr.String("coordinate_transformation_mode", "tf_crop_and_resize")]);
        var loss = g.Node1("ReduceSum", [y], [Attr.Int("keepdims", 0)]);
        var e = Assert.Throws<GraphException>(() => NeuralService.Graph.Autodiff.Gradients.Build(g, loss, [x]));
        Assert.Contains("tf_crop_and_resize", e.Message);
    }
}
