using NeuralService.Graph.Autodiff;
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

    /// <summary>Inference: Y = (X − μ)·γ/√(σ²+ε) + β; dX = dY·γ·r, dγ = Σ dY·x̂, dβ = Σ dY, dμ = −Σ dY·γ·r, dσ² = −½Σ dY·γ·(X − μ)·r³.
    /// Training (batch statistics): dX = γ·r·(dY − mean(dY) − x̂·mean(dY·x̂)), r = 1/√(σ²_batch+ε)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var dy = c.DY();
        var eps = c.Node.GetFloat("epsilon", 1e-5f);
        var training = c.Node.GetInt("training_mode", 0) != 0;
        var axes = Emit.AxesExcept(x.Rank, 1);
        long[] bshape = [-1, .. Enumerable.Repeat(1L, x.Rank - 2)];
        Value PerChannel(Value v) => g.Reshape(v, bshape);
        Value SumToChannel(Value v) => g.ReduceSum(v, axes, keepDims: false);
        var gamma = PerChannel(c.X(1));
        Value mean, r;
        if (training)
        {
            mean = g.ReduceMean(x, axes);
            var centered0 = g.Sub(x, mean);
            var variance = g.ReduceMean(g.Mul(centered0, centered0), axes);
            r = g.Div(g.Scalar(1, x), g.Unary("Sqrt", g.Add(variance, g.Scalar(eps, x))));
        }
        else
        {
            mean = PerChannel(c.X(3));
            r = g.Div(g.Scalar(1, x), g.Unary("Sqrt", g.Add(PerChannel(c.X(4)), g.Scalar(eps, x))));
        }
        var centered = g.Sub(x, mean);
        var xhat = g.Mul(centered, r);
        Value? dx = null, dgamma = null, dbeta = null, dmean = null, dvar = null;
        if (c.Needs(2)) dbeta = SumToChannel(dy);
        if (c.Needs(1)) dgamma = SumToChannel(g.Mul(dy, xhat));
        if (training)
        {
            if (c.Needs(0))
            {
                var dyMean = g.ReduceMean(dy, axes);
                var projMean = g.ReduceMean(g.Mul(dy, xhat), axes);
                dx = g.Mul(g.Mul(gamma, r), g.Sub(g.Sub(dy, dyMean), g.Mul(xhat, projMean)));
            }
        }
        else
        {
            var dyg = g.Mul(dy, gamma);
            if (c.Needs(0)) dx = g.Mul(dyg, r);
            if (c.Needs(3)) dmean = g.Neg(SumToChannel(g.Mul(dyg, r)));
            if (c.Needs(4)) dvar = g.Scale(SumToChannel(g.Mul(g.Mul(dyg, centered), g.Mul(r, g.Mul(r, r)))), -0.5);
        }
        return [dx, dgamma, dbeta, dmean, dvar];
    }
}

/// <summary>LayerNormalization(X, scale, B) → Y, Mean, InvStdDev (stats keep reduced axes as 1).</summary>
public sealed class InstanceNormalizationOp : Op
{
    public override string Type => "InstanceNormalization";

    public override IReadOnlyList<TensorType> Infer(InferenceContext ctx) => [ctx.Input(0)];

    /// <summary>Y = x̂·γ + β, x̂ = (X − μ)·r over the spatial axes of each sample and channel, r = 1/√(σ²+ε);
    /// dX = γ·r·(dY − mean(dY) − x̂·mean(dY·x̂)), dγ = Σ dY·x̂, dβ = Σ dY (sums over all but the channel axis)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var dy = c.DY();
        var eps = c.Node.GetFloat("epsilon", 1e-5f);
        var spatial = Enumerable.Range(2, x.Rank - 2).Select(a => (long)a).ToArray();
        var allButChannel = Emit.AxesExcept(x.Rank, 1);
        var mean = g.ReduceMean(x, spatial);
        var centered = g.Sub(x, mean);
        var r = g.Div(g.Scalar(1, x), g.Unary("Sqrt", g.Add(g.ReduceMean(g.Mul(centered, centered), spatial), g.Scalar(eps, x))));
        var xhat = g.Mul(centered, r);
        Value? dx = null;
        if (c.Needs(0))
        {
            var gamma = g.Reshape(c.X(1), [-1, .. Enumerable.Repeat(1L, x.Rank - 2)]);
            dx = g.Mul(g.Mul(gamma, r), g.Sub(g.Sub(dy, g.ReduceMean(dy, spatial)), g.Mul(xhat, g.ReduceMean(g.Mul(dy, xhat), spatial))));
        }
        return [dx, c.Needs(1) ? g.ReduceSum(g.Mul(dy, xhat), allButChannel, keepDims: false) : null,
            c.Needs(2) ? g.ReduceSum(dy, allButChannel, keepDims: false) : null];
    }
}

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

    /// <summary>Y = x̂·γ + β, x̂ = (X − μ)·r over axes ≥ axis; dX = r·(dY·γ − mean(dY·γ) − x̂·mean(dY·γ·x̂)), dγ = dY·x̂, dβ = dY
    /// (dγ and dβ reduced to their shapes by the engine)</summary>
    public override IReadOnlyList<Value?> Gradient(GradientContext c)
    {
        var g = c.Graph;
        var x = c.X(0);
        var dy = c.DY();
        var axis = x.Shape.NormalizeAxis(c.Node.GetInt("axis", -1));
        var eps = c.Node.GetFloat("epsilon", 1e-5f);
        var axes = Enumerable.Range(axis, x.Rank - axis).Select(a => (long)a).ToArray();
        var mean = g.ReduceMean(x, axes);
        var centered = g.Sub(x, mean);
        var r = g.Div(g.Scalar(1, x), g.Unary("Sqrt", g.Add(g.ReduceMean(g.Mul(centered, centered), axes), g.Scalar(eps, x))));
        var xhat = g.Mul(centered, r);
        Value? dx = null;
        if (c.Needs(0))
        {
            var dyg = g.Mul(dy, c.X(1));
            dx = g.Mul(r, g.Sub(g.Sub(dyg, g.ReduceMean(dyg, axes)), g.Mul(xhat, g.ReduceMean(g.Mul(dyg, xhat), axes))));
        }
        return [dx, c.Needs(1) ? g.Mul(dy, xhat) : null, c.Needs(2) ? dy : null];
    }
}
