using NeuralService.Api.Kserve;
using NeuralService.Inference.Registry;

namespace NeuralService.Api.Endpoints;

/// <summary>A tensor of a signature: KServe datatype name, shape with -1 for dynamic dims (null when undeclared).</summary>
public sealed record TensorDto(string Name, string Datatype, long[]? Shape)
{
    public static TensorDto From(TensorSpec t) =>
        new(t.Name, KserveTypes.FromElementName(t.ElementType), t.Shape?.Select(d => d.Size ?? -1).ToArray());
}

public sealed record LineageDto(string? TrainingJobId, string? Dataset, System.Text.Json.JsonElement? Hyperparameters, IReadOnlyDictionary<string, double>? FinalMetrics);

public sealed record VersionDto(
    string Model, int Version, string Sha256, long SizeBytes, long Opset,
    IReadOnlyList<TensorDto> Inputs, IReadOnlyList<TensorDto> Outputs,
    IReadOnlyDictionary<string, string> Metadata, LineageDto? Lineage, IReadOnlyDictionary<string, string> Tags, DateTimeOffset CreatedAt,
    System.Text.Json.JsonElement? Preprocessing = null)
{
    public static VersionDto From(ModelVersion v) => new(
        v.Model, v.Version, v.Sha256, v.SizeBytes, v.Opset,
        v.Signature.Inputs.Select(TensorDto.From).ToList(), v.Signature.Outputs.Select(TensorDto.From).ToList(),
        v.Metadata, v.Lineage is { } l ? new LineageDto(l.TrainingJobId, l.Dataset, ParseJson(l.HyperparametersJson), l.FinalMetrics) : null,
        v.Tags, v.CreatedAt, ContractOf(v));

    /// <summary>The preprocessing contract the version records (NeuralService.Training.PreprocessingContract): per input
    /// scale, offset and raw value range, whether the graph applies it (<c>folded</c>: then callers send raw values), per
    /// output classifier and class names. Null for a model that records none.</summary>
    private static System.Text.Json.JsonElement? ContractOf(ModelVersion v)
    {
        try
        {
            var contract = NeuralService.Training.PreprocessingContract.FromMetadata(v.Metadata,
                v.Signature.Inputs.Select(i => i.Name).ToList(), v.Signature.Outputs.Select(o => o.Name).ToList());
            return contract is null ? null : System.Text.Json.JsonSerializer.SerializeToElement(contract.ToJson());
        }
        catch (InvalidDataException) { return null; }
    }

    private static System.Text.Json.JsonElement? ParseJson(string? json) =>
        json is null ? null : System.Text.Json.JsonDocument.Parse(json).RootElement.Clone();
}

public sealed record ModelDto(string Name, string? Description, DateTimeOffset CreatedAt, IReadOnlyDictionary<string, int> Aliases, int? LatestVersion, IReadOnlyList<VersionDto>? Versions = null);

public sealed record AliasRequest(int Version);
