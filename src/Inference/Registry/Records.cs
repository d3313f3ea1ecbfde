namespace NeuralService.Inference.Registry;

/// <summary>One dimension of a declared shape: a known size, a symbolic name (e.g. <c>batch</c>), or unknown (both null).</summary>
public sealed record DimSpec(long? Size, string? Symbol)
{
    public static DimSpec Of(long size) => new(size, null);
    public static DimSpec Sym(string symbol) => new(null, symbol);
    public static readonly DimSpec Unknown = new(null, null);
    public override string ToString() => Size?.ToString() ?? Symbol ?? "?";
}

/// <summary>A model input or output: name, ONNX element type name (<c>float32</c>, <c>int64</c>…), and shape (null when undeclared).</summary>
public sealed record TensorSpec(string Name, string ElementType, IReadOnlyList<DimSpec>? Shape)
{
    public override string ToString() =>
        $"{Name}: {ElementType}{(Shape is null ? "[?]" : "[" + string.Join(",", Shape) + "]")}";
}

public sealed record Signature(IReadOnlyList<TensorSpec> Inputs, IReadOnlyList<TensorSpec> Outputs);

/// <summary>Where a version came from when it was produced by our training.</summary>
public sealed record Lineage(
    string? TrainingJobId = null,
    string? Dataset = null,
    string? HyperparametersJson = null,
    IReadOnlyDictionary<string, double>? FinalMetrics = null);

public sealed record RegisteredModel(string Name, string? Description, DateTimeOffset CreatedAt, IReadOnlyDictionary<string, int> Aliases);

/// <summary>An immutable model version; the ONNX file lives in the data directory under its SHA-256.</summary>
public sealed record ModelVersion(
    string Model,
    int Version,
    string Sha256,
    long SizeBytes,
    long Opset,
    Signature Signature,
    IReadOnlyDictionary<string, string> Metadata,
    Lineage? Lineage,
    IReadOnlyDictionary<string, string> Tags,
    DateTimeOffset CreatedAt)
{
    public override string ToString() => $"{Model}/{Version}";
}
