using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace NeuralService.Graph.Tests.Support;

/// <summary>A named input tensor of any element type the training graphs take (float, int64).</summary>
public sealed record Feed(string Name, NamedOnnxValue Value)
{
    public static Feed F(string name, float[] data, params int[] dims) => new(name, NamedOnnxValue.CreateFromTensor(name, new DenseTensor<float>(data, dims)));
    public static Feed L(string name, long[] data, params int[] dims) => new(name, NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(data, dims)));
    public static Feed Scalar(string name, float value) => F(name, [value]);
    public static Feed Scalar(string name, long value) => L(name, [value]);
}

/// <summary>An ONNX Runtime session kept open across runs (training loops feed outputs back as inputs).</summary>
public sealed class OrtSession : IDisposable
{
    private readonly InferenceSession _session;

    public OrtSession(ModelProto model)
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, IntraOpNumThreads = 1 };
        _session = new InferenceSession(model.ToByteArray(), options);
    }

    /// <summary>Runs and returns the float outputs by name.</summary>
    public Dictionary<string, float[]> Run(IEnumerable<Feed> feeds)
    {
        using var results = _session.Run(feeds.Select(f => f.Value).ToList());
        return results.Where(r => r.ElementType == TensorElementType.Float).ToDictionary(r => r.Name, r => r.AsTensor<float>().ToArray());
    }

    public void Dispose() => _session.Dispose();
}
