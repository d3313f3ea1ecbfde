using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using static NeuralService.Graph.Tests.Support.GradientTesting;

namespace NeuralService.Graph.Tests.Autodiff;

/// <summary>Single ops on an input whose batch and length/spatial dims are symbolic in the graph: the rules read
/// counts, pads and sizes at run time. Checked against finite differences for the parameters and the input.</summary>
public sealed class SymbolicShapeGradientTests
{
    /// <param name="Dims">The graph's input dims (symbolic or unknown where the rule must read them at run time).</param>
    /// <param name="Data">The dims of the data fed to it.</param>
    private sealed record SymCase(string Name, Dim[] Dims, long[] Data, Func<GraphBuilder, Value, Value> Build);

    private static readonly Dim B = Dim.Batch;
    private static readonly Dim L = Dim.Unknown;

    private static void CheckWith(GradientOptions options, params SymCase[] cases)
    {
        var results = new List<GradCheckResult>();
        var failures = new List<string>();
        foreach (var c in cases)
        {
            var g = new GraphBuilder();
            var x = g.AddInput("x", Float, new Shape(c.Dims));
            g.AddOutput(c.Build(g, x));
            var parameters = g.InitializerValues.Select(v => v.Name).Where(n => n.StartsWith(ParamPrefix, StringComparison.Ordinal)).ToList();
            var count = (int)c.Data.Aggregate(1L, (p, d) => p * d);
            var feeds = new Dictionary<string, global::Onnx.TensorProto> { ["x"] = Tensors.Create("x", Reference.Random(count, 17), c.Data) };
            var result = GradCheck.Run(g.ToModel(), feeds, new GradCheckOptions
            {
                MaxElementsPerTensor = 16, Wrt = GradCheckWrt.All, Parameters = parameters, Gradients = options,
            });
            results.Add(result);
            if (!result.Passed) failures.Add($"{c.Name}: {result}");
            var input = result.GradientModel.Graph.Input.Single(i => i.Name == "x").Type.TensorType.Shape;
            if (input.Dim.Where((d, i) => !c.Dims[i].IsKnown && d.ValueCase == global::Onnx.TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue).Any())
                failures.Add($"{c.Name}: the gradient graph's input lost its symbolic dims");
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        OnnxChecker.Check(results.Select(r => r.GradientModel).ToArray());
    }

    private static void Check(params SymCase[] cases) => CheckWith(GradientOptions.Default, cases);

    [Fact]
    public void ReductionsAndNormalizationCounts()
    {
        Check(
            new("reduce mean over batch and length", [B, L, 3], [3, 5, 3],
                (g, x) => g.Op("ReduceMean", [g.Op("Mul", x, Param(g, "p", [3], 1))], Attr.Ints("axes", [0, 1]), Attr.Int("keepdims", 0))),
            new("reduce mean keepdims over length", [B, L, 3], [2, 4, 3],
                (g, x) => g.Op("Mul", g.Op("ReduceMean", [g.Op("Mul", x, x)], Attr.Ints("axes", [1])), Param(g, "p", [3], 2))),
            new("global average pool", [B, 2, L, L], [2, 2, 3, 4],
                (g, x) => g.Op("GlobalAveragePool", g.Op("Mul", x, Param(g, "p", [1, 2, 1, 1], 3)))));
    }

    private static Value Conv(GraphBuilder g, Value x, long[] w, int seed, params global::Onnx.AttributeProto[] attrs) =>
        g.Op("Conv", [x, Param(g, "w", w, seed), Param(g, "b", [w[0]], seed + 1)], attrs);

    private static SymCase[] ConvCases() =>
    [
        new("conv stride 2 with pads, open length", [B, 2, L], [2, 2, 8],
            (g, x) => Conv(g, x, [3, 2, 3], 1, Attr.Ints("strides", [2]), Attr.Ints("pads", [1, 1]))),
        new("conv stride 1 dilation 2, open length", [B, 2, L], [2, 2, 9],
            (g, x) => Conv(g, x, [3, 2, 3], 3, Attr.Ints("dilations", [2]), Attr.Ints("pads", [2, 1]))),
        new("conv SAME_UPPER stride 2, open spatial dims", [B, 2, L, L], [2, 2, 7, 6],
            (g, x) => Conv(g, x, [3, 2, 3, 3], 5, Attr.Ints("strides", [2, 2]), Attr.String("auto_pad", "SAME_UPPER"))),
        new("conv SAME_LOWER strides (2, 3), open spatial dims", [B, 2, L, L], [2, 2, 6, 8],
            (g, x) => Conv(g, x, [2, 2, 2, 3], 7, Attr.Ints("strides", [2, 3]), Attr.String("auto_pad", "SAME_LOWER"))),
        new("grouped conv stride 2, open length", [B, 4, L], [2, 4, 9],
            (g, x) => Conv(g, x, [4, 2, 3], 9, Attr.Ints("strides", [2]), Attr.Int("group", 2))),
        new("conv of one input channel, open spatial dims", [B, 1, L, L], [2, 1, 6, 5],
            (g, x) => Conv(g, x, [3, 1, 3, 2], 11, Attr.Ints("strides", [1, 2]), Attr.Ints("pads", [1, 0, 1, 1]))),
    ];

    [Fact]
    public void ConvolutionWithOpenSpatialDims() => Check(ConvCases());

    [Fact]
    public void ConvolutionWeightGradientAsConvWithOpenSpatialDims() =>
        CheckWith(new GradientOptions { ConvWeightGradient = ConvWeightGradient.Conv }, ConvCases()[..4]);

    [Fact]
    public void TransposedConvolutionAndPoolingWithOpenSpatialDims()
    {
        Check(
            new("conv transpose stride 2 with output padding, open length", [B, 2, L], [2, 2, 5],
                (g, x) => g.Op("ConvTranspose", [x, Param(g, "w", [2, 3, 3], 1), Param(g, "b", [3], 2)],
                    Attr.Ints("strides", [2]), Attr.Ints("pads", [1, 0]), Attr.Ints("output_padding", [1]))),
            new("average pool SAME_UPPER stride 2, padding not counted", [B, 2, L, L], [2, 2, 7, 6],
                (g, x) => g.Op("AveragePool", [g.Op("Mul", x, Param(g, "p", [1, 2, 1, 1], 3))],
                    Attr.Ints("kernel_shape", [3, 3]), Attr.Ints("strides", [2, 2]), Attr.String("auto_pad", "SAME_UPPER"))),
            new("average pool pads counted, stride 2", [B, 2, L, L], [2, 2, 6, 7],
                (g, x) => g.Op("AveragePool", [x], Attr.Ints("kernel_shape", [3, 2]), Attr.Ints("strides", [2, 2]),
                    Attr.Ints("pads", [1, 1, 1, 0]), Attr.Int("count_include_pad", 1))),
            new("average pool explicit pads, stride 1", [B, 2, L], [2, 2, 6],
                (g, x) => g.Op("AveragePool", [x], Attr.Ints("kernel_shape", [3]), Attr.Ints("pads", [1, 1]))),
            new("max pool stride 2", [B, 2, L, L], [2, 2, 6, 5],
                (g, x) => g.Op("MaxPool", [g.Op("Mul", x, Param(g, "p", [1, 2, 1, 1], 4))], Attr.Ints("kernel_shape", [2, 2]), Attr.Ints("strides", [2, 2]))));
    }

    private static Value Scaled(GraphBuilder g, Value x, int seed) => g.Op("Mul", x, Param(g, "p", [x.Shape[-1].Known], seed));

    [Fact]
    public void SlicesOfOpenAxes()
    {
        Check(
            new("reverse of an open length (go_backwards)", [B, L, 3], [2, 5, 3],
                (g, x) => g.Op("Slice", Scaled(g, x, 1), g.Ints(-1), g.Ints(long.MinValue), g.Ints(1), g.Ints(-1))),
            new("crop both ends of an open length", [B, L, 3], [2, 6, 3],
                (g, x) => g.Op("Slice", Scaled(g, x, 2), g.Ints(1), g.Ints(-2), g.Ints(1))),
            new("last steps of an open length", [B, L, 3], [2, 6, 3],
                (g, x) => g.Op("Slice", Scaled(g, x, 3), g.Ints(-3), g.Ints(long.MaxValue), g.Ints(1))),
            new("reverse one axis, crop another", [B, L, 4], [2, 5, 4],
                (g, x) => g.Op("Slice", Scaled(g, x, 4), g.Ints(-1, 1), g.Ints(long.MinValue, 3), g.Ints(1, 2), g.Ints(-1, 1))),
            new("every second step of an open length", [B, L, 3], [2, 7, 3],
                (g, x) => g.Op("Slice", Scaled(g, x, 5), g.Ints(1), g.Ints(long.MaxValue), g.Ints(1), g.Ints(2))),
            new("samples from the second on", [B, 3], [4, 3],
                (g, x) => g.Op("Slice", Scaled(g, x, 6), g.Ints(1), g.Ints(long.MaxValue), g.Ints(0))));
    }

    [Fact]
    public void DataMovementOverOpenAxes()
    {
        Check(
            new("concat along an open length", [B, L, 3], [2, 4, 3],
                (g, x) => g.Op("Concat", [x, Scaled(g, x, 1)], Attr.Int("axis", 1))),
            new("concat along features with a symbolic batch", [B, L, 3], [2, 4, 3],
                (g, x) => g.Op("Concat", [Scaled(g, x, 2), g.Op("Neg", x)], Attr.Int("axis", 2))),
            new("gather from an open axis, negative indices", [B, L, 3], [2, 5, 3],
                (g, x) => g.Op("Gather", [Scaled(g, x, 4), g.Constant(Tensors.Create("i", [0L, -1, 1, -1], 2, 2), "i")], Attr.Int("axis", 1))),
            new("tile with open dims", [B, L, 3], [2, 3, 3],
                (g, x) => g.Op("Tile", Scaled(g, x, 5), g.Ints(1, 2, 2))),
            new("zero pad an open length", [B, L, 3], [2, 4, 3],
                (g, x) => g.Op("Pad", Scaled(g, x, 6), g.Ints(0, 1, 0, 0, 2, 1))),
            new("edge pad an open length", [B, L, 3], [2, 4, 3],
                (g, x) => g.Op("Pad", [Scaled(g, x, 7), g.Ints(0, 2, 1, 0, 3, 0)], Attr.String("mode", "edge"))),
            new("reflect pad an open length", [B, L, 3], [2, 5, 3],
                (g, x) => g.Op("Pad", [Scaled(g, x, 8), g.Ints(0, 2, 0, 0, 3, 1)], Attr.String("mode", "reflect"))),
            new("flatten and reshape back to Shape(x)", [B, L, 3], [2, 4, 3],
                (g, x) => g.Op("Reshape", g.Op("Mul", g.Op("Flatten", x), Param(g, "p", [1], 9)), g.ShapeOf(x))),
            new("expand a parameter to Shape(x)", [B, L, 3], [2, 4, 3],
                (g, x) => g.Op("Mul", x, g.Op("Expand", Param(g, "p", [1, 1, 3], 10), g.ShapeOf(x)))),
            new("split an open length by run-time sizes", [B, L, 3], [2, 5, 3],
                (g, x) =>
                {
                    var sizes = g.Op("Concat", [g.Ints(2), g.Op("Sub", g.ShapeOf(x, 1, 2), g.Ints(2))], Attr.Int("axis", 0));
                    var parts = g.Node("Split", [Scaled(g, x, 11), sizes], [Attr.Int("axis", 1)], 2);
                    return g.Op("Concat", [parts[1], g.Op("Neg", parts[0])], Attr.Int("axis", 1));
                }));
    }

    [Fact]
    public void ResizeOfOpenSpatialDims()
    {
        Value Resize(GraphBuilder g, Value x, float[] scales, params global::Onnx.AttributeProto[] attrs) =>
            g.Op("Resize", [g.Op("Mul", x, Param(g, "p", [1, 2, 1, 1], 1)), null, g.Constant(scales, [scales.Length], "scales")], attrs);
        Check(
            new("nearest asymmetric floor ×2 (UpSampling)", [B, 2, L, L], [2, 2, 3, 2],
                (g, x) => Resize(g, x, [1, 1, 2, 3], Attr.String("mode", "nearest"),
                    Attr.String("coordinate_transformation_mode", "asymmetric"), Attr.String("nearest_mode", "floor"))),
            new("nearest half pixel ×1.5", [B, 2, L, 3], [1, 2, 5, 3],
                (g, x) => Resize(g, x, [1, 1, 1.5f, 1], Attr.String("mode", "nearest"))),
            new("bilinear half pixel ×2 (UpSampling bilinear)", [B, 2, L, L], [2, 2, 3, 4],
                (g, x) => Resize(g, x, [1, 1, 2, 2], Attr.String("mode", "linear"))),
            new("linear align corners ×2.5", [B, 2, L, 2], [1, 2, 3, 2],
                (g, x) => Resize(g, x, [1, 1, 2.5f, 1], Attr.String("mode", "linear"), Attr.String("coordinate_transformation_mode", "align_corners"))));
    }

    [Fact]
    public void LinearAlgebraAndNormalizationOverOpenAxes()
    {
        Check(
            new("matmul broadcasting a weight over batch and length", [B, L, 3], [2, 4, 3],
                (g, x) => g.Op("MatMul", x, Param(g, "w", [3, 2], 1))),
            new("batched matmul with a broadcast operand", [B, L, 3], [2, 4, 3],
                (g, x) => g.Op("MatMul", g.Op("Transpose", [x], Attr.Ints("perm", [0, 2, 1])), g.Op("Mul", x, Param(g, "p", [1, 1, 3], 2)))),
            new("einsum summing an open axis", [B, L, 3], [2, 5, 3],
                (g, x) => g.Op("Einsum", [x, Param(g, "w", [3, 2], 3)], Attr.String("equation", "btd,de->be"))),
            new("einsum keeping the open axis", [B, L, 3], [2, 5, 3],
                (g, x) => g.Op("Einsum", [x, Param(g, "w", [3], 4)], Attr.String("equation", "btd,d->bt"))),
            new("softmax over an open axis", [B, L, 3], [2, 4, 3],
                (g, x) => g.Op("Softmax", [Scaled(g, x, 5)], Attr.Int("axis", 1))),
            new("layer normalization over open axes", [B, L, 3], [2, 4, 3],
                (g, x) => g.Op("LayerNormalization", [x, Param(g, "gamma", [3], 6, 0.5f, 1f), Param(g, "beta", [3], 7)], Attr.Int("axis", 1))),
            new("instance normalization over open spatial dims", [B, 2, L, L], [2, 2, 3, 4],
                (g, x) => g.Op("InstanceNormalization", x, Param(g, "gamma", [2], 8, 0.5f, 1f), Param(g, "beta", [2], 9))),
            new("batch normalization in training mode", [B, 2, L], [3, 2, 4],
                (g, x) => g.Node("BatchNormalization", [x, Param(g, "gamma", [2], 10, 0.5f, 1f), Param(g, "beta", [2], 11), g.Constant([0f, 0f], [2], "mean"), g.Constant([1f, 1f], [2], "var")],
                    [Attr.Int("training_mode", 1)], 3)[0]));
    }
}
