using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Autodiff;

/// <summary>Keras-style arrangements traced in training mode with a symbolic batch (and open lengths or spatial dims
/// where the layers allow): the gradient of every trainable weight and of the input matches finite differences, and
/// the gradient graph keeps the dims symbolic.</summary>
public sealed class SymbolicArrangementGradientTests
{
    public static TheoryData<string> Names => new(SymbolicArrangements.All.Select(a => a.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void GradientMatchesFiniteDifferences(string name)
    {
        var a = SymbolicArrangements.All.Single(x => x.Name == name);
        var model = a.Build();
        var g = new GraphBuilder();
        var trace = model.Trace(g, new CallContext(training: true, seed: 1));
        foreach (var o in trace.Outputs) g.AddOutput(o);
        var x = trace.Inputs[0];
        Assert.Equal(Dim.Batch, x.Shape[0]);
        for (var i = 0; i < a.InputShape.Length; i++) Assert.Equal(a.InputShape[i] is null, !x.Shape[i + 1].IsKnown);

        const int batch = 3;
        var feeds = new Dictionary<string, global::Onnx.TensorProto>
        {
            [x.Name] = Tensors.Create(x.Name, SymbolicArrangements.Data(a, batch, 5), [batch, .. a.Sample.Select(d => (long)d)]),
        };
        var weights = model.Weights.Where(w => w.Trainable).Select(w => Layer.WeightValue(g, w).Name).ToList();
        var result = GradCheck.Run(g.ToModel(), feeds,
            new GradCheckOptions { MaxElementsPerTensor = 8, Parameters = weights, Wrt = GradCheckWrt.All, Step = a.FiniteDifferenceStep ?? GradCheckOptions.DefaultStep });

        Assert.Equal(weights.Count + 1, result.Parameters.Count);
        Assert.True(result.Passed, result.ToString());
        var input = result.GradientModel.Graph.Input.Single(i => i.Name == x.Name).Type.TensorType.Shape;
        Assert.Equal("batch", input.Dim[0].DimParam);
        for (var i = 0; i < a.InputShape.Length; i++) Assert.Equal(a.InputShape[i] is null, input.Dim[i + 1].ValueCase != global::Onnx.TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue);
        OnnxChecker.Check(result.GradientModel);
    }

    public static TheoryData<string> StaticNames => new(SymbolicArrangements.All.Where(a => a.InputShape.All(d => d is not null)).Select(a => a.Name));

    /// <summary>With every dim static (the batch fixed too), the gradient reads no shape at run time: counts, pads,
    /// sizes and reshape targets stay constants.</summary>
    [Theory]
    [MemberData(nameof(StaticNames))]
    public void StaticShapesGiveConstantGradients(string name)
    {
        var a = SymbolicArrangements.All.Single(x => x.Name == name);
        var model = a.Build(batchSize: 3);
        var g = new GraphBuilder();
        var trace = model.Trace(g, new CallContext(training: true, seed: 1));
        Assert.True(trace.Inputs[0].Shape.IsFullyKnown);
        var forward = g.Nodes.Count;
        var loss = g.Node1("ReduceSum", [trace.Outputs[0]], [Attr.Int("keepdims", 0)]);
        var weights = model.Weights.Where(w => w.Trainable).Select(w => Layer.WeightValue(g, w)).ToList();
        var grads = Gradients.Build(g, loss, weights);
        Assert.All(weights, w => Assert.Equal(w.Shape, grads[w.Name].Shape));
        var dynamic = g.Nodes.Skip(forward).Where(n => n.OpType is "Shape" or "Size").Select(n => n.Describe()).ToList();
        Assert.True(dynamic.Count == 0, string.Join(", ", dynamic));
    }

    /// <summary>The same weights and data through the symbolic graph and through a fully static one: every gradient
    /// agrees to float32 rounding (the static rules are the reference; this is free of finite-difference noise).</summary>
    [Theory]
    [MemberData(nameof(Names))]
    public void SymbolicGradientsEqualStaticOnes(string name)
    {
        var a = SymbolicArrangements.All.Single(x => x.Name == name);
        const int batch = 3;
        var data = SymbolicArrangements.Data(a, batch, 5);
        int[] dims = [batch, .. a.Sample];
        var symbolic = GradientsOf(a.Build(seed: 4), data, dims);
        var fixedShapes = GradientsOf(a.Build(seed: 4, batchSize: batch, staticDims: true), data, dims);
        Assert.Equal(fixedShapes.Keys.Order(), symbolic.Keys.Order());
        foreach (var (key, (expected, shape)) in fixedShapes)
        {
            var (actual, actualShape) = symbolic[key];
            Assert.Equal(shape, actualShape);
            var scale = Math.Max(1e-2, expected.Max(Math.Abs));
            var worst = expected.Zip(actual, (e, v) => Math.Abs(e - v)).Max() / scale;
            Assert.True(worst < 1e-4, $"{key}: symbolic and static gradients differ by {worst:g3} (relative to {scale:g3})");
        }
    }

    /// <summary>Gradients of Σ output ⊙ projection w.r.t. every trainable weight (by position) and the input.</summary>
    private static Dictionary<string, (float[] Data, int[] Dims)> GradientsOf(Functional model, float[] data, int[] dims)
    {
        var g = new GraphBuilder();
        var trace = model.Trace(g, new CallContext(training: true, seed: 1));
        var output = trace.Outputs[0];
        var projection = g.Constant(Reference.Random(dims[0] * 2, 9), [dims[0], 2], "projection");
        var loss = g.Node1("ReduceSum", [g.Mul(output, projection)], [Attr.Int("keepdims", 0)]);
        var x = trace.Inputs[0];
        var weights = model.Weights.Where(w => w.Trainable).Select(w => Layer.WeightValue(g, w)).ToList();
        var grads = Gradients.Build(g, loss, [.. weights, x]);
        for (var i = 0; i < weights.Count; i++) g.AddOutput(grads[weights[i].Name], $"d_weight{i}");
        g.AddOutput(grads[x.Name], "d_input");
        var onnx = g.ToModel();
        OnnxChecker.Check(onnx);
        return Ort.Run(onnx, (x.Name, data, dims));
    }
}
