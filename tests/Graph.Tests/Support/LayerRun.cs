using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using Onnx;

namespace NeuralService.Graph.Tests.Support;

/// <summary>Wraps layers in small functional models, exports them, checks them with onnx.checker and runs them in ORT.</summary>
public static class LayerRun
{
    /// <summary>Exports <paramref name="model"/>, checks it and runs it on float inputs in model-input order.</summary>
    public static IReadOnlyList<(float[] Data, int[] Dims)> Model(Model model, ExportOptions? options, params (float[] Data, int[] Dims)[] inputs)
    {
        var onnx = model.ToOnnx(options);
        OnnxChecker.Check(onnx);
        var names = onnx.Graph.Input.Select(i => i.Name).Where(n => onnx.Graph.Initializer.All(t => t.Name != n)).ToList();
        Assert.Equal(inputs.Length, names.Count);
        var outs = Ort.Run(onnx, names.Select((n, i) => (n, inputs[i].Data, inputs[i].Dims)).ToArray());
        return onnx.Graph.Output.Select(o => outs[o.Name]).ToList();
    }

    /// <summary>One layer on one input of per-sample shape <paramref name="perSample"/>, batch taken from <paramref name="dims"/>.</summary>
    public static (float[] Data, int[] Dims) One(Layer layer, float[] x, int[] dims, bool training = false, int seed = 0)
    {
        var input = Input.Of(dims.Skip(1).ToArray());
        var model = new Functional(input, layer.Apply(input));
        return Model(model, new ExportOptions { Training = training, Seed = seed }, (x, dims))[0];
    }

    /// <summary>One layer on several inputs of the given dims.</summary>
    public static (float[] Data, int[] Dims) Many(Layer layer, params (float[] Data, int[] Dims)[] inputs)
    {
        var tensors = inputs.Select(i => Input.Of(i.Dims.Skip(1).ToArray())).ToArray();
        var model = new Functional(tensors, [layer.Apply(tensors)]);
        return Model(model, null, inputs)[0];
    }

    public static ModelProto Export(Layer layer, int[] perSample, bool training = false)
    {
        var input = Input.Of(perSample);
        var onnx = new Functional(input, layer.Apply(input)).ToOnnx(new ExportOptions { Training = training });
        OnnxChecker.Check(onnx);
        return onnx;
    }
}
