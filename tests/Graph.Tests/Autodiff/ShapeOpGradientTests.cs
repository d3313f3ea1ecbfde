using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using Onnx;
using static NeuralService.Graph.Tests.Support.GradientTesting;

namespace NeuralService.Graph.Tests.Autodiff;

public sealed class ShapeOpGradientTests
{
    [SkippableFact]
    public void ReshapingOps()
    {
        CheckAll(
            C("reshape", g => g.Op("Reshape", Param(g, "x", [2, 3, 4], 1), g.Ints(4, -1))),
            C("flatten", g => g.Op("Flatten", [Param(g, "x", [2, 3, 4], 2)], Attr.Int("axis", 2))),
            C("transpose", g => g.Op("Transpose", [Param(g, "x", [2, 3, 4], 3)], Attr.Ints("perm", [2, 0, 1]))),
            C("squeeze", g => g.Op("Squeeze", Param(g, "x", [2, 1, 3], 4), g.Ints(1))),
            C("unsqueeze", g => g.Op("Unsqueeze", Param(g, "x", [2, 3], 5), g.Ints(0, 3))),
            C("expand", g => g.Op("Expand", Param(g, "x", [3, 1], 6), g.Ints(2, 3, 4))),
            C("tile", g => g.Op("Tile", Param(g, "x", [2, 3], 7), g.Ints(2, 3))));
    }

    [SkippableFact]
    public void ConcatAndSplit()
    {
        CheckAll(
            C("concat", g => g.Op("Concat", [Param(g, "a", [2, 3], 1), Param(g, "b", [2, 2], 2), Param(g, "c", [2, 1], 3)], Attr.Int("axis", 1))),
            new Case("split both used", g => g.Node("Split", [Param(g, "x", [5, 4], 4), g.Ints(2, 3)], [Attr.Int("axis", 0)], 2)),
            C("split one used", g => g.Node("Split", [Param(g, "x", [4, 6], 5)], [Attr.Int("axis", 1)], 3)[1]));
    }

    [SkippableFact]
    public void SliceGatherPad()
    {
        CheckAll(
            C("slice unit steps", g => g.Op("Slice", Param(g, "x", [4, 5], 1), g.Ints(1, -4), g.Ints(3, 100))),
            C("slice axes", g => g.Op("Slice", Param(g, "x", [3, 4, 5], 2), g.Ints(1), g.Ints(4), g.Ints(2))),
            C("slice steps", g => g.Op("Slice", Param(g, "x", [6, 5], 3), g.Ints(5, 0), g.Ints(0, 5), g.Ints(0, 1), g.Ints(-2, 2))),
            C("gather axis 0", g => g.Op("Gather", Param(g, "x", [5, 3], 4), g.Constant(Tensors.Create("i", [0L, 3, 3, -1], 2, 2), "i"))),
            C("gather axis 1", g => g.Op("Gather", [Param(g, "x", [2, 4, 3], 5), g.Constant(Tensors.Create("i", [2L, 0, 2], 3), "i")], Attr.Int("axis", 1))),
            C("gather scalar index", g => g.Op("Gather", [Param(g, "x", [3, 4], 6), g.ScalarLong(2)], Attr.Int("axis", 1))),
            C("gather elements", g => g.Op("GatherElements", [Param(g, "x", [3, 4], 9), g.Constant(Tensors.Create("i", [1L, 1, 3, 0, 2, 2], 3, 2), "i")], Attr.Int("axis", 1))),
            C("pad", g => g.Op("Pad", Param(g, "x", [2, 3], 7), g.Ints(1, 0, 2, 1))),
            C("pad negative", g => g.Op("Pad", Param(g, "x", [3, 4], 8), g.Ints(-1, 1, 0, -2))),
            C("pad edge", g => g.Op("Pad", [Param(g, "x", [2, 3, 4], 10), g.Ints(0, 2, 1, 1, 0, 3)], Attr.String("mode", "edge"))),
            C("pad reflect", g => g.Op("Pad", [Param(g, "x", [3, 4, 5], 11), g.Ints(1, 0, 2, 2, 3, 4)], Attr.String("mode", "reflect"))));
    }

    private static Value Resized(GraphBuilder g, Value x, float[] scales, params AttributeProto[] attrs) =>
        g.Op("Resize", [x, null, g.Constant(scales, [scales.Length], "scales")], attrs);

    [Fact]
    public void Resize()
    {
        CheckAll(
            C("nearest asymmetric floor ×2", g => Resized(g, Param(g, "x", [1, 2, 3, 2], 1), [1, 1, 2, 2], Attr.String("mode", "nearest"),
                Attr.String("coordinate_transformation_mode", "asymmetric"), Attr.String("nearest_mode", "floor"))),
            C("nearest half pixel ×1.5", g => Resized(g, Param(g, "x", [1, 1, 4, 3], 2), [1, 1, 1.5f, 1], Attr.String("mode", "nearest"))),
            C("linear half pixel ×2", g => Resized(g, Param(g, "x", [1, 2, 3, 4], 3), [1, 1, 2, 2], Attr.String("mode", "linear"))),
            C("linear align corners ×2.5", g => Resized(g, Param(g, "x", [1, 1, 3, 2], 4), [1, 1, 2.5f, 1], Attr.String("mode", "linear"),
                Attr.String("coordinate_transformation_mode", "align_corners"))),
            C("linear to sizes", g => g.Op("Resize", [Param(g, "x", [1, 1, 4, 3], 5), null, null, g.Ints(1, 1, 7, 5)], Attr.String("mode", "linear"))));
    }
}
