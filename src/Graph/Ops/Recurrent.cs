using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Ops;

/// <summary>The fused ONNX recurrences (layout 0: X[seq, batch, input]) → Y[seq, dirs, batch, hidden], Y_h[dirs, batch, hidden] (and Y_c for LSTM).</summary>
public abstract class FusedRecurrentOp : Op
{
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var hidden = ctx.Node.GetInt("hidden_size", 0);
        var dirs = ctx.Node.GetString("direction", "forward") == "bidirectional" ? 2 : 1;
        if (ctx.Node.GetInt("layout", 0) != 0) throw ctx.Error("only layout 0 is supported");
        var y = new TensorType(x.DType, Shape.Of(x.Shape[0], dirs, x.Shape[1], hidden));
        var state = new TensorType(x.DType, Shape.Of(dirs, x.Shape[1], hidden));
        return Enumerable.Range(0, ctx.Node.Output.Count).Select(i => i == 0 ? y : state).ToList();
    }

    /// <summary>Fused recurrences are for inference only: layers emit decomposed cells for training.</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext ctx) =>
        throw ctx.Error($"fused {Type} is not differentiated: for training, recurrent layers emit decomposed cells (MatMul/Sigmoid/Tanh/Mul) instead of the fused op");
}

public sealed class LstmOp : FusedRecurrentOp { public override string Type => "LSTM"; }
public sealed class GruOp : FusedRecurrentOp { public override string Type => "GRU"; }
public sealed class RnnOp : FusedRecurrentOp { public override string Type => "RNN"; }
