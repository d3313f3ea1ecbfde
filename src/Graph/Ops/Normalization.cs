using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Ops;

/// <summary>BatchNormalization(X, scale, B, mean, var) → Y, and with training_mode=1 also running mean and var.</summary>
public sealed class BatchNormalizationOp : Op
{
    public override string Type => "BatchNormalization";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var stat = ctx.Input(3);
        return ctx.Node.GetInt("training_mode", 0) != 0 && ctx.Node.Output.Count > 1
            ? [x, stat, ctx.Input(4)]
            : [x];
    }
}

/// <summary>LayerNormalization(X, scale, B) → Y, Mean, InvStdDev (stats keep reduced axes as 1).</summary>
public sealed class LayerNormalizationOp : Op
{
    public override string Type => "LayerNormalization";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var axis = x.Shape.NormalizeAxis(ctx.Node.GetInt("axis", -1));
        var stats = new Shape(x.Shape.Dims.Select((d, i) => i < axis ? d : Dim.Of(1)));
        var statType = new TensorType((global::Onnx.TensorProto.Types.DataType)ctx.Node.GetInt("stash_type", 1), stats);
        return [x, statType, statType];
    }
}
