using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Ops;
using NeuralService.Graph.Tests.Support;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Autodiff;

/// <summary>GradCheck's float64 conversion: Scan bodies are converted with the main graph, Resize's scales stay float32
/// (the only type the operator admits: a constant one is left alone, a computed one is cast back), and the converted model
/// computes what the float one does.</summary>
public sealed class GradCheckToDoubleTests
{
    [SkippableFact]
    public void SubgraphsAreConvertedAndResizeScalesStayFloat()
    {
        if (TorchReference.Unavailable() is { } why) throw new SkipException(why);
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(1, 1, 2, 3));
        var computed = g.Node1("Add", [g.Constant([1f, 1, 1, 1], [4], "one"), g.Constant([0f, 0, 1, 0], [4], "extra")]);
        var up = g.Node1("Resize", [x, null, computed], [Attr.String("mode", "nearest")]);
        var wide = g.Node1("Resize", [up, null, g.Constant([1f, 1, 1, 2], [4], "scales")], [Attr.String("mode", "linear")]);
        var w = g.Constant(Tensors.Create("w", Reference.Random(36, 3, 0.5f), [6, 6]), "w");
        var scan = ControlFlow.Scan(g, [g.Constant(new float[6], [1, 6], "h0")], [new ScanInput(g.Reshape(wide, [4L, 1, 6]))], [new ScanOutput()],
            (bg, state, step) =>
            {
                var h = bg.Node1("Tanh", [bg.Node1("Add", [bg.Node1("MatMul", [state[0], w]), step[0]])]);
                return new ScanStep([h], [h]);
            });
        var final = g.AddOutput(scan[0], "final");
        var stacked = g.AddOutput(scan[1], "stacked");
        var model = g.ToModel();

        var doubled = GradCheck.ToDouble(model);
        OnnxChecker.Check(doubled);
        var body = doubled.Graph.Node.Single(n => n.OpType == "Scan").Attribute.Single(a => a.Name == "body").G;
        Assert.All(body.Input.Concat(body.Output), v => Assert.Equal((int)DataType.Double, v.Type.TensorType.ElemType));
        Assert.Equal(DataType.Float, Tensors.TypeOf(doubled.Graph.Initializer.Single(t => t.Name.StartsWith("scales", StringComparison.Ordinal))));
        var resizes = doubled.Graph.Node.Where(n => n.OpType == "Resize").ToList();
        Assert.Contains(doubled.Graph.Node, n => n.OpType == "Cast" && n.Output[0] == resizes[0].Input[2]
            && n.Attribute.Single(a => a.Name == "to").I == (long)DataType.Float);

        var x0 = Reference.Random(6, 4, 1f);
        var expected = Ort.Run(model, ("x", x0, [1, 1, 2, 3]));
        var result = TorchReference.Run([new TorchReference.Job(doubled,
            new Dictionary<string, global::Onnx.TensorProto> { ["x"] = Tensors.Create("x", x0.Select(v => (double)v).ToArray(), [1, 1, 2, 3]) },
            [final.Name, stacked.Name])])[0];
        Assert.Null(result.Error);
        foreach (var name in new[] { final.Name, stacked.Name })
        {
            var actual = Tensors.ToDoubles(result.Outputs[name]);
            Assert.Equal(expected[name].Dims.Select(d => (long)d), result.Outputs[name].Dims);
            Assert.All(actual.Zip(expected[name].Data), p => Assert.True(Math.Abs(p.First - p.Second) < 1e-5, $"{name}: {p.First} vs {p.Second}"));
        }
    }
}
