using NeuralService.Graph.Core;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Ops;

/// <summary>An op whose single output has its first input's type and shape.</summary>
public abstract class UnaryOp : Op
{
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx) => [ctx.Input(0)];
}

/// <summary>An op that broadcasts all its inputs; the output takes the first input's element type,
/// or <see cref="OutputType"/> when set (comparisons give bool).</summary>
public abstract class BroadcastOp : Op
{
    protected virtual DataType? OutputType => null;

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var inputs = Enumerable.Range(0, ctx.InputCount).Select(ctx.Input).ToList();
        var dtype = inputs[0].DType;
        foreach (var t in inputs.Skip(1))
            if (t.DType != dtype && OutputType is null)
                throw ctx.Error($"element types differ: {dtype} and {t.DType}");
        return [new TensorType(OutputType ?? dtype, ShapeMath.Broadcast(inputs.Select(i => i.Shape).ToList(), ctx.Error))];
    }
}

public sealed class AddOp : BroadcastOp { public override string Type => "Add"; }
public sealed class SubOp : BroadcastOp { public override string Type => "Sub"; }
public sealed class MulOp : BroadcastOp { public override string Type => "Mul"; }
public sealed class DivOp : BroadcastOp { public override string Type => "Div"; }
public sealed class SumOp : BroadcastOp { public override string Type => "Sum"; }
public sealed class MeanOp : BroadcastOp { public override string Type => "Mean"; }
public sealed class MaxOp : BroadcastOp { public override string Type => "Max"; }
public sealed class MinOp : BroadcastOp { public override string Type => "Min"; }
public sealed class PReluOp : BroadcastOp { public override string Type => "PRelu"; }

/// <summary>Pow's exponent may have another element type than its base.</summary>
public sealed class PowOp : Op
{
    public override string Type => "Pow";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx) =>
        [new TensorType(ctx.Input(0).DType, ShapeMath.Broadcast([ctx.Input(0).Shape, ctx.Input(1).Shape], ctx.Error))];
}

public abstract class CompareOp : BroadcastOp { protected override DataType? OutputType => DataType.Bool; }
public sealed class EqualOp : CompareOp { public override string Type => "Equal"; }
public sealed class GreaterOp : CompareOp { public override string Type => "Greater"; }
public sealed class GreaterOrEqualOp : CompareOp { public override string Type => "GreaterOrEqual"; }
public sealed class LessOp : CompareOp { public override string Type => "Less"; }
public sealed class LessOrEqualOp : CompareOp { public override string Type => "LessOrEqual"; }
public sealed class AndOp : CompareOp { public override string Type => "And"; }
public sealed class OrOp : CompareOp { public override string Type => "Or"; }
public sealed class XorOp : CompareOp { public override string Type => "Xor"; }

public sealed class NegOp : UnaryOp { public override string Type => "Neg"; }
public sealed class AbsOp : UnaryOp { public override string Type => "Abs"; }
public sealed class ExpOp : UnaryOp { public override string Type => "Exp"; }
public sealed class LogOp : UnaryOp { public override string Type => "Log"; }
public sealed class SqrtOp : UnaryOp { public override string Type => "Sqrt"; }
public sealed class ReciprocalOp : UnaryOp { public override string Type => "Reciprocal"; }
public sealed class TanhOp : UnaryOp { public override string Type => "Tanh"; }
public sealed class SigmoidOp : UnaryOp { public override string Type => "Sigmoid"; }
public sealed class HardSigmoidOp : UnaryOp { public override string Type => "HardSigmoid"; }
public sealed class HardSwishOp : UnaryOp { public override string Type => "HardSwish"; }
public sealed class ReluOp : UnaryOp { public override string Type => "Relu"; }
public sealed class LeakyReluOp : UnaryOp { public override string Type => "LeakyRelu"; }
public sealed class EluOp : UnaryOp { public override string Type => "Elu"; }
public sealed class SeluOp : UnaryOp { public override string Type => "Selu"; }
public sealed class SoftplusOp : UnaryOp { public override string Type => "Softplus"; }
public sealed class SoftsignOp : UnaryOp { public override string Type => "Softsign"; }
public sealed class ErfOp : UnaryOp { public override string Type => "Erf"; }
public sealed class IdentityOp : UnaryOp { public override string Type => "Identity"; }
public sealed class FloorOp : UnaryOp { public override string Type => "Floor"; }
public sealed class CeilOp : UnaryOp { public override string Type => "Ceil"; }
public sealed class RoundOp : UnaryOp { public override string Type => "Round"; }
public sealed class SignOp : UnaryOp { public override string Type => "Sign"; }
public sealed class SinOp : UnaryOp { public override string Type => "Sin"; }
public sealed class CosOp : UnaryOp { public override string Type => "Cos"; }
public sealed class SoftmaxOp : UnaryOp { public override string Type => "Softmax"; }
public sealed class LogSoftmaxOp : UnaryOp { public override string Type => "LogSoftmax"; }
public sealed class ClipOp : UnaryOp { public override string Type => "Clip"; }
public sealed class NotOp : UnaryOp { public override string Type => "Not"; }
public sealed class CumSumOp : UnaryOp { public override string Type => "CumSum"; }
public sealed class TriluOp : UnaryOp { public override string Type => "Trilu"; }
public sealed class ScatterElementsOp : UnaryOp { public override string Type => "ScatterElements"; }
public sealed class ScatterNDOp : UnaryOp { public override string Type => "ScatterND"; }
public sealed class LpNormalizationOp : UnaryOp { public override string Type => "LpNormalization"; }
public sealed class InstanceNormalizationOp : UnaryOp { public override string Type => "InstanceNormalization"; }
public sealed class MeanVarianceNormalizationOp : UnaryOp { public override string Type => "MeanVarianceNormalization"; }
public sealed class IsNaNOp : Op
{
    public override string Type => "IsNaN";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx) => [new TensorType(DataType.Bool, ctx.Input(0).Shape)];
}

/// <summary>Dropout(data, ratio, training_mode) → (output, mask).</summary>
public sealed class DropoutOp : Op
{
    public override string Type => "Dropout";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx) =>
        [ctx.Input(0), new TensorType(DataType.Bool, ctx.Input(0).Shape)];
}

public sealed class CastOp : Op
{
    public override string Type => "Cast";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx) =>
        [new TensorType((DataType)ctx.Node.GetIntAttr("to"), ctx.Input(0).Shape)];
}

public sealed class CastLikeOp : Op
{
    public override string Type => "CastLike";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx) => [new TensorType(ctx.Input(1).DType, ctx.Input(0).Shape)];
}

/// <summary>Where(cond, X, Y): broadcast of the three, X's element type.</summary>
public sealed class WhereOp : Op
{
    public override string Type => "Where";
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx) =>
        [new TensorType(ctx.Input(1).DType, ShapeMath.Broadcast([ctx.Input(0).Shape, ctx.Input(1).Shape, ctx.Input(2).Shape], ctx.Error))];
}

internal static class RequiredAttributes
{
    public static long GetIntAttr(this global::Onnx.NodeProto node, string name) =>
        node.Attribute.FirstOrDefault(a => a.Name == name)?.I
        ?? throw new ShapeException($"{node.OpType} node '{node.Name}': attribute '{name}' is required");
}
