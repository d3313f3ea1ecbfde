using Onnx;

namespace NeuralService.Graph.Core;

/// <summary>The static type of an ONNX value: element type and shape.</summary>
public readonly record struct TensorType(TensorProto.Types.DataType DType, Shape Shape)
{
    public override string ToString() => $"{DType}{Shape}";
}

/// <summary>A named value (graph input, initializer or node output) in a <see cref="GraphBuilder"/>.</summary>
public sealed record Value(string Name, TensorProto.Types.DataType DType, Shape Shape)
{
    public TensorType Type => new(DType, Shape);
    public int Rank => Shape.Rank;
    public override string ToString() => $"{Name}: {DType}{Shape}";
}
