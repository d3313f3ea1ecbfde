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

    /// <summary>False for ops whose outputs carry no gradient (shapes, comparisons, indices): the autodiff stops there.</summary>
    public virtual bool Differentiable => true;

    /// <summary>The gradient rule: per-input gradients (null = none) from the output gradients. The autodiff engine
    /// reduces a returned gradient over broadcast axes to its input's shape and accumulates values used several times.</summary>
    public virtual IReadOnlyList<Value?> Gradient(GradientContext ctx) =>
        throw new GraphException($"{ctx.Node.OpType} node '{ctx.Node.Name}': no gradient rule for op '{Type}'");
}

/// <summary>What a gradient rule sees of one forward node and where it emits its gradient nodes.</summary>
public sealed class GradientContext(NodeProto node, IReadOnlyList<Value?> inputs, IReadOnlyList<Value?> outputs,
    IReadOnlyList<Value?> outputGradients, GraphBuilder graph, IReadOnlyList<bool> needsGradient, Autodiff.GradientOptions? options = null)
{
    public Autodiff.GradientOptions Options { get; } = options ?? Autodiff.GradientOptions.Default;
    public NodeProto Node => node;
    /// <summary>Forward inputs; null where an optional input is omitted.</summary>
    public IReadOnlyList<Value?> Inputs => inputs;
    /// <summary>Forward outputs; null where an optional output is omitted.</summary>
    public IReadOnlyList<Value?> Outputs => outputs;
    /// <summary>Gradients of the loss w.r.t. each output; null where the loss does not depend on it.</summary>
    public IReadOnlyList<Value?> OutputGradients => outputGradients;
    public GraphBuilder Graph => graph;
    public IReadOnlyList<bool> NeedsGradient => needsGradient;

    public Value X(int i) => i < inputs.Count && inputs[i] is { } v ? v : throw Error($"input {i} is required");
    public Value Y(int i = 0) => i < outputs.Count && outputs[i] is { } v ? v : throw Error($"output {i} is required");
    public bool Needs(int i) => i < needsGradient.Count && needsGradient[i];
    public bool HasInput(int i) => i < inputs.Count && inputs[i] is not null;
    /// <summary>The gradient of output <paramref name="i"/> (required: the engine only calls rules that have one).</summary>
    public Value DY(int i = 0) => i < outputGradients.Count && outputGradients[i] is { } v ? v : throw Error($"no gradient reaches output {i}");
    public TensorProto? Constant(int i) => i < inputs.Count && inputs[i] is { } v ? graph.ConstantValue(v.Name) : null;
    public long[]? ConstantLongs(int i) => Constant(i) is { } t ? NeuralService.Graph.Onnx.Tensors.ToLongs(t) : null;
    public GraphException Error(string message) => new($"{node.OpType} node '{node.Name}' (gradient): {message}");
}

/// <summary>What shape inference sees of one node: its attributes, input types and constant inputs.</summary>
public sealed class InferenceContext
{
    private readonly Func<string, TensorProto?> _constant;
    private readonly Func<string, Dim[]?> _shapeValue;

    public InferenceContext(NodeProto node, IReadOnlyList<TensorType?> inputs, Func<string, TensorProto?> constant,
        Func<string, Dim[]?>? shapeValue = null)
    {
        Node = node;
        Inputs = inputs;
        _constant = constant;
        _shapeValue = shapeValue ?? (_ => null);
        _outputShapeValues = new Dim[]?[node.Output.Count];
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

    /// <summary>The entries of the int64 scalar or 1-D input <paramref name="i"/> as dims, where the graph knows them
    /// without running it: a constant of non-negative entries, or a value computed from Shape nodes (see
    /// <see cref="SetShapeValue"/>). Lets Reshape/Expand/ConstantOfShape to Shape(x) take x's symbolic dims.</summary>
    public Dim[]? ShapeValue(int i)
    {
        if (i >= Node.Input.Count || Node.Input[i].Length == 0 || !HasInput(i) || Input(i).DType != TensorProto.Types.DataType.Int64) return null;
        if (ConstantLongs(i) is { } c) return Input(i).Shape.Rank <= 1 && c.All(v => v >= 0) ? c.Select(Dim.Of).ToArray() : null;
        return _shapeValue(Node.Input[i]);
    }

    /// <summary>Declares what output <paramref name="k"/> (an int64 scalar or 1-D value) holds in terms of dims.</summary>
    public void SetShapeValue(int k, Dim[] dims) => _outputShapeValues[k] = dims;

    private readonly Dim[]?[] _outputShapeValues;
    public IReadOnlyList<Dim[]?> OutputShapeValues => _outputShapeValues;

    public ShapeException Error(string message) => new($"{Node.OpType} node '{Node.Name}': {message}");
}
