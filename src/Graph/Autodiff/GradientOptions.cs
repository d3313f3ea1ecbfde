using NeuralService.Graph.Core;
using NeuralService.Graph.Ops;
using Onnx;

namespace NeuralService.Graph.Autodiff;

/// <summary>How a Conv weight gradient is written (DESIGN.md §3: im2col is faster on CPU, the Conv form on cuDNN).</summary>
public enum ConvWeightGradient
{
    /// <summary>Columns of the padded input (one strided Slice per kernel offset and a Concat, or one Gather: see
    /// <see cref="GradientOptions.GatherColumnsFromChannels"/>) → one Gemm against the output gradient.</summary>
    Im2Col,
    /// <summary>Conv of the batch-transposed input with the batch-transposed output gradient as kernel (strides and
    /// dilations swap roles); grouped convolutions fall back to im2col.</summary>
    Conv,
}

/// <summary>Choices of decomposition that change speed, not results.</summary>
public sealed record GradientOptions
{
    public static readonly GradientOptions Default = new();
    public ConvWeightGradient ConvWeightGradient { get; init; } = ConvWeightGradient.Im2Col;

    /// <summary>Im2col weight gradients (one group, static spatial sizes and pads) whose window input has at least this
    /// many channels take their columns with one Gather of whole channel rows from the channels-last input, instead of
    /// one strided Slice per kernel offset and a Concat (up to a position table of 2M entries). Seed CNN step, 2 cores,
    /// alternating rounds: Gather for its 32- and 64-channel convolutions +4% over Slices; Gather also for the 1-channel
    /// first one (rows of one float) −4%.</summary>
    public long GatherColumnsFromChannels { get; init; } = 16;

    /// <summary>Test-only: deliberately breaks one op type's gradient rule, to show that gradient checks catch a wrong rule.
    /// Null (the default) in every real use.</summary>
    public GradientMutation? Mutation { get; init; }

    /// <summary>A weight that a Scan body only multiplies by (MatMul(a, W), W from the enclosing graph): true emits a
    /// and the output gradient per step and forms ΣₜaₜᵀdZₜ outside as one MatMul over all steps; false accumulates
    /// aₜᵀdZₜ step by step in the reverse Scan. bench lstm (IMDb LSTM(64), batch 64, 2 cores): equal speed within
    /// noise at 200 and 500 tokens, but +110 MiB peak at 500 for the stacked per-step operands, so false by default.</summary>
    public bool ScanWeightGradientOutside { get; init; }
}

public enum GradientMutationKind
{
    /// <summary>Every input gradient the rule returns × <see cref="GradientMutation.Factor"/>.</summary>
    Scale,
    /// <summary>Input <see cref="GradientMutation.Input"/>'s gradient replaced by zeros (a dropped term).</summary>
    Zero,
    /// <summary>The gradients of inputs <see cref="GradientMutation.Input"/> and <see cref="GradientMutation.Other"/>
    /// exchanged (where both exist and have one shape).</summary>
    Swap,
}

/// <summary>A deliberate error in the gradient rule of <see cref="OpType"/>, applied to the gradients that rule returns for
/// every node of that type whose name does not start with <see cref="SkipNodePrefix"/>.</summary>
public sealed record GradientMutation(string OpType, GradientMutationKind Kind, int Input = 0, int Other = 1, double Factor = 1.01)
{
    /// <summary>Nodes left alone (e.g. the loss that a gradient check adds around the model).</summary>
    public string? SkipNodePrefix { get; init; }

    public bool Matches(NodeProto node) =>
        node.OpType == OpType && (SkipNodePrefix is null || !node.Name.StartsWith(SkipNodePrefix, StringComparison.Ordinal));

    public IReadOnlyList<Value?> Apply(GradientContext c, IReadOnlyList<Value?> grads)
    {
        var g = c.Graph;
        var result = grads.ToList();
        switch (Kind)
        {
            case GradientMutationKind.Scale:
                for (var i = 0; i < result.Count; i++)
                    if (result[i] is { } dx) result[i] = g.Mul(dx, g.Scalar(Factor, dx.DType, "mutation_factor"));
                break;
            case GradientMutationKind.Zero:
                if (Input < result.Count && result[Input] is { } dz) result[Input] = g.ZerosLike(dz);
                break;
            case GradientMutationKind.Swap:
                if (Input < result.Count && Other < result.Count && result[Input] is { } a && result[Other] is { } b && a.Shape.Equals(b.Shape))
                    (result[Input], result[Other]) = (b, a);
                break;
        }
        return result;
    }

    public override string ToString() => Kind switch
    {
        GradientMutationKind.Scale => $"{OpType}: gradients × {Factor}",
        GradientMutationKind.Zero => $"{OpType}: input {Input}'s gradient zeroed",
        _ => $"{OpType}: gradients of inputs {Input} and {Other} swapped",
    };
}
