using NeuralService.Graph.Core;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Layers;

/// <summary>A symbolic tensor of the functional API: its static type and the layer call that produced it
/// (Keras's <c>keras_history</c>: layer, node index, tensor index).</summary>
public sealed class KerasTensor
{
    internal KerasTensor(Shape shape, DataType dtype, LayerNode node, int index)
    {
        Shape = shape;
        DType = dtype;
        Node = node;
        Index = index;
    }

    public Shape Shape { get; }
    public DataType DType { get; }
    public LayerNode Node { get; }
    /// <summary>Which output of <see cref="Node"/> this is.</summary>
    public int Index { get; }
    public Layer Layer => Node.Layer;
    public override string ToString() => $"<KerasTensor {Shape.ToKerasString()} from {Layer.Name}>";
}

/// <summary>One call of a layer in a functional graph.</summary>
public sealed class LayerNode
{
    internal LayerNode(Layer layer, IReadOnlyList<KerasTensor> inputs, IReadOnlyDictionary<string, object?> arguments, int index)
    {
        Layer = layer;
        Inputs = inputs;
        Arguments = arguments;
        Index = index;
    }

    public Layer Layer { get; }
    public IReadOnlyList<KerasTensor> Inputs { get; }
    public IReadOnlyList<KerasTensor> Outputs { get; internal set; } = [];
    /// <summary>Keyword arguments of the call (mask, training, use_causal_mask…).</summary>
    public IReadOnlyDictionary<string, object?> Arguments { get; }
    /// <summary>Position among the layer's calls (Keras's node index).</summary>
    public int Index { get; }
}
