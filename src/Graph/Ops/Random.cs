using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Ops;

/// <summary>Random*Like(X): a fresh random tensor with X's shape; the element type is the <c>dtype</c> attribute, else X's.
/// Not differentiable: the sample is a constant for the autodiff.</summary>
public abstract class RandomLikeOp : Op
{
    public override bool Differentiable => false;

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var x = ctx.Input(0);
        var dtype = ctx.Node.Has("dtype") ? (DataType)ctx.Node.GetInt("dtype", 1) : x.DType;
        return [new TensorType(dtype, x.Shape)];
    }
}

/// <summary>Y ~ U(low, high) with X's shape.</summary>
public sealed class RandomUniformLikeOp : RandomLikeOp { public override string Type => "RandomUniformLike"; }

/// <summary>Y ~ N(mean, scale²) with X's shape.</summary>
public sealed class RandomNormalLikeOp : RandomLikeOp { public override string Type => "RandomNormalLike"; }

/// <summary>Random tensors of a static <c>shape</c> attribute (dtype attribute, float by default).</summary>
public abstract class RandomOfShapeOp : Op
{
    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx)
    {
        var shape = ctx.Node.GetInts("shape") ?? throw ctx.Error("attribute 'shape' is required");
        if (shape.Any(d => d < 0)) throw ctx.Error($"shape [{string.Join(",", shape)}] has a negative dim");
        return [new TensorType((DataType)ctx.Node.GetInt("dtype", (long)DataType.Float), Shape.Of(shape))];
    }
}

/// <summary>Y[shape] ~ U(low, high).</summary>
public sealed class RandomUniformOp : RandomOfShapeOp { public override string Type => "RandomUniform"; }

/// <summary>Y[shape] ~ N(mean, scale²).</summary>
public sealed class RandomNormalOp : RandomOfShapeOp { public override string Type => "RandomNormal"; }

/// <summary>Bernoulli(P): Y ~ Bernoulli(p) elementwise, P's shape; dtype attribute, else P's type.</summary>
public sealed class BernoulliOp : RandomLikeOp { public override string Type => "Bernoulli"; }
