using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Core;

/// <summary>Short forms for the ops that losses, optimizers and gradient rules are mostly made of.</summary>
public static class GraphBuilderOps
{
    public static Value Add(this GraphBuilder g, Value a, Value b) => g.Node1("Add", [a, b]);
    public static Value Sub(this GraphBuilder g, Value a, Value b) => g.Node1("Sub", [a, b]);
    public static Value Mul(this GraphBuilder g, Value a, Value b) => g.Node1("Mul", [a, b]);
    public static Value Div(this GraphBuilder g, Value a, Value b) => g.Node1("Div", [a, b]);
    public static Value Neg(this GraphBuilder g, Value a) => g.Node1("Neg", [a]);
    public static Value Where(this GraphBuilder g, Value cond, Value a, Value b) => g.Node1("Where", [cond, a, b]);

    /// <summary>Cast to <paramref name="to"/>, or <paramref name="a"/> itself when it already has that type.</summary>
    public static Value Cast(this GraphBuilder g, Value a, DataType to) =>
        a.DType == to ? a : g.Node1("Cast", [a], [Attr.Int("to", (long)to)]);
}
