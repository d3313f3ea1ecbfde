using NeuralService.Graph.Core;
using Onnx;

namespace NeuralService.Graph.Ops;

/// <summary>One ONNX operator: its static shape/type inference (and, in the autodiff, its gradient rule).
/// Ops are stateless singletons registered in <see cref="OpRegistry"/>.</summary>
public abstract class Op
{
    public abstract string Type { get; }

    /// <summary>Output types of <paramref name="ctx"/>'s node from its input types and attributes.</summary>
    public abstract IReadOnlyList<TensorType> Infer(InferenceContext ctx);
}

/// <summary>What shape inference sees of one node: its attributes, input types and constant inputs.</summary>
public sealed class InferenceContext
{
    private readonly Func<string, TensorProto?> _constant;

    public InferenceContext(NodeProto node, IReadOnlyList<TensorType?> inputs, Func<string, TensorProto?> constant)
    {
        Node = node;
        Inputs = inputs;
        _constant = constant;
    }

    public NodeProto Node { get; }
    /// <summary>Input types; null where an optional input is omitted.</summary>
    public IReadOnlyList<TensorType?> Inputs { get; }
    public int InputCount => Inputs.Count;

    public TensorType Input(int i) =>
        i < Inputs.Count && Inputs[i] is { } t ? t : throw Error($"input {i} is required");

    public bool HasInput(int i) => i < Inputs.Count && Inputs[i] is not null;

    /// <summary>The value of input <paramref name="i"/> when it is an initializer or constant.</summary>
    public TensorProto? ConstantInput(int i) =>
        i < Node.Input.Count && Node.Input[i].Length > 0 ? _constant(Node.Input[i]) : null;

    public long[]? ConstantLongs(int i) => ConstantInput(i) is { } t ? NeuralService.Graph.Onnx.Tensors.ToLongs(t) : null;

    public ShapeException Error(string message) => new($"{Node.OpType} node '{Node.Name}': {message}");
}
