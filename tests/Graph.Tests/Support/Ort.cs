using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace NeuralService.Graph.Tests.Support;

/// <summary>Runs models in ONNX Runtime (CPU) for tests.</summary>
public static class Ort
{
    public static InferenceSession Session(ModelProto model)
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = 1 };
        return new InferenceSession(model.ToByteArray(), options);
    }

    /// <summary>Runs with float inputs (name → (data, dims)) and returns every output as floats with its dims.</summary>
    public static Dictionary<string, (float[] Data, int[] Dims)> Run(ModelProto model, params (string Name, float[] Data, int[] Dims)[] inputs)
    {
        using var session = Session(model);
        var feeds = inputs.Select(i => NamedOnnxValue.CreateFromTensor(i.Name, new DenseTensor<float>(i.Data, i.Dims))).ToList();
        using var results = session.Run(feeds);
        return results.ToDictionary(r => r.Name, r =>
        {
            var t = r.AsTensor<float>();
            return (t.ToArray(), t.Dimensions.ToArray());
        });
    }

    /// <summary>Runs a single-input, single-output model.</summary>
    public static (float[] Data, int[] Dims) Run1(ModelProto model, float[] x, int[] dims)
    {
        var name = model.Graph.Input.First(i => model.Graph.Initializer.All(t => t.Name != i.Name)).Name;
        var outs = Run(model, (name, x, dims));
        return outs[model.Graph.Output[0].Name];
    }

    /// <summary>Runs both models on the same inputs and asserts every output of <paramref name="expected"/> has the same
    /// dims and values (within <paramref name="tolerance"/>) in <paramref name="actual"/>: a rewritten graph against the
    /// one it stands for.</summary>
    public static void AssertSameOutputs(ModelProto expected, ModelProto actual, double tolerance, params (string Name, float[] Data, int[] Dims)[] inputs)
    {
        var reference = Run(expected, inputs);
        var rewritten = Run(actual, inputs);
        foreach (var (name, value) in reference)
        {
            Assert.Equal(value.Dims, rewritten[name].Dims);
            Reference.AssertClose(value.Data, rewritten[name].Data, tolerance, name);
        }
    }
}
