namespace NeuralService.Inference.Import;

/// <summary>Limits applied to untrusted model files.</summary>
public sealed record ImportLimits
{
    /// <summary>Largest model file, and largest model after external data is inlined.</summary>
    public long MaxModelBytes { get; init; } = 1L << 30;
    /// <summary>Largest element count of any declared shape or initializer.</summary>
    public long MaxElements { get; init; } = 1L << 31;
    /// <summary>Highest default-domain opset accepted (our ONNX schema is onnx 1.12).</summary>
    public long MaxOpset { get; init; } = 17;
    /// <summary>Deepest nesting of subgraphs (If/Loop/Scan bodies).</summary>
    public int MaxGraphDepth { get; init; } = 32;
    /// <summary>Most memory a model may need for its initializers and the tensors its constants fix the shape of
    /// (<see cref="ConstantMemory"/>); null: not checked.</summary>
    public long? MaxModelMemoryBytes { get; init; }
    /// <summary>When set, files are only imported from inside this directory (after resolving symlinks), so a
    /// caller-supplied source path cannot reach arbitrary server files (MLflow's recurring path-traversal CVEs).</summary>
    public string? ImportRoot { get; init; }
}
