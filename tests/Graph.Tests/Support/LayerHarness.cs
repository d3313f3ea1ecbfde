using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using Onnx;

namespace NeuralService.Graph.Tests.Support;

/// <summary>Wraps one layer in a Functional model (Input.Of → layer.Apply), exports it and runs it in ONNX Runtime.
/// The onnx.checker costs a Python start, so test classes check all their models in one <see cref="OnnxChecker.Check"/> call.</summary>
public static class LayerHarness
{
    /// <summary>Builds the layer on <paramref name="dims"/> (batch first; the batch stays symbolic), runs
    /// <paramref name="afterBuild"/> (e.g. to assign weights) and exports.</summary>
    public static ModelProto Export(Layer layer, int[] dims, Action? afterBuild = null, ExportOptions? options = null)
    {
        var input = Input.Of(dims[1..]);
        var model = new Functional(input, layer.Apply(input));
        afterBuild?.Invoke();
        return model.ToOnnx(options);
    }

    /// <summary>Exports and runs the single-output model on <paramref name="x"/>.</summary>
    public static (float[] Data, int[] Dims) Run(Layer layer, float[] x, int[] dims, Action? afterBuild = null) =>
        Ort.Run1(Export(layer, dims, afterBuild), x, dims);
}
