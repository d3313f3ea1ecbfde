namespace NeuralService.Graph.Autodiff;

/// <summary>How a Conv weight gradient is written (DESIGN.md §3: im2col is faster on CPU, the Conv form on cuDNN).</summary>
public enum ConvWeightGradient
{
    /// <summary>Kernel-offset Slices of the padded input → Concat → one Gemm against the output gradient.</summary>
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

    /// <summary>A weight that a Scan body only multiplies by (MatMul(a, W), W from the enclosing graph): true emits a
    /// and the output gradient per step and forms ΣₜaₜᵀdZₜ outside as one MatMul over all steps; false accumulates
    /// aₜᵀdZₜ step by step in the reverse Scan. bench lstm (IMDb LSTM(64), batch 64, 2 cores): equal speed within
    /// noise at 200 and 500 tokens, but +110 MiB peak at 500 for the stacked per-step operands, so false by default.</summary>
    public bool ScanWeightGradientOutside { get; init; }
}
