using System.Collections.Frozen;
using System.ComponentModel;
using System.Text.Json;
using NeuralService.Api.Errors;
using NeuralService.Graph.Keras;

namespace NeuralService.Api.Specs;

/// <summary>One example architecture: its name (the file name under onnx-models/specs without <c>.json</c>) and a
/// description drawn from the model itself.</summary>
public sealed record SpecSummary(
    string Name,
    [property: Description("Model class, layer count, parameters, and input → output shapes (without the batch dimension).")]
    string Description,
    string ClassName,
    int Parameters,
    [property: Description("Each input's name and per-sample shape (null: any length).")]
    IReadOnlyList<SpecTensor> Inputs,
    IReadOnlyList<SpecTensor> Outputs);

public sealed record SpecTensor(string Name, IReadOnlyList<long?> Shape);

public sealed record SpecList(IReadOnlyList<SpecSummary> Specs);

/// <summary>A spec with its Keras JSON, ready to send as a job's <c>model</c>.</summary>
public sealed record ModelSpec(string Name, string Description, [property: Description("The Keras JSON model config (as model.to_json() writes it).")] JsonElement Model);

/// <summary>The example Keras JSON architectures of onnx-models/specs, embedded in this assembly at build time (so the
/// service lists them from any working directory or container). A name is only ever looked up among the embedded
/// ones, never turned into a path.</summary>
public sealed class SpecLibrary
{
    private const string ResourcePrefix = "NeuralService.Api.specs.";
    private readonly FrozenDictionary<string, string> _json;
    private readonly Lazy<IReadOnlyList<SpecSummary>> _summaries;

    public SpecLibrary() : this(Embedded()) { }

    internal SpecLibrary(IReadOnlyDictionary<string, string> json)
    {
        _json = json.ToFrozenDictionary(StringComparer.Ordinal);
        // Building each model once for its shapes takes a moment, so only when the list is first asked for.
        _summaries = new(() => _json.Keys.Order(StringComparer.Ordinal).Select(n => Summarize(n, _json[n])).ToList());
    }

    public IReadOnlyList<SpecSummary> List() => _summaries.Value;

    public ModelSpec Get(string name)
    {
        if (!_json.TryGetValue(name, out var json))
            throw ApiException.NotFound($"no spec '{name}'; the specs are {string.Join(", ", _json.Keys.Order(StringComparer.Ordinal))} (GET /v1/specs)");
        using var doc = JsonDocument.Parse(json);
        return new ModelSpec(name, List().First(s => s.Name == name).Description, doc.RootElement.Clone());
    }

    private static Dictionary<string, string> Embedded()
    {
        var assembly = typeof(SpecLibrary).Assembly;
        var specs = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            if (!resource.StartsWith(ResourcePrefix, StringComparison.Ordinal) || !resource.EndsWith(".json", StringComparison.Ordinal)) continue;
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            specs[resource[ResourcePrefix.Length..^".json".Length]] = reader.ReadToEnd();
        }
        return specs;
    }

    private static SpecSummary Summarize(string name, string json)
    {
        var model = KerasModelJson.Read(json);
        static SpecTensor Tensor(string n, Graph.Core.Shape s) => new(n, s.Dims.Skip(1).Select(d => d.Value).ToList());
        var inputs = model.Inputs.Select((t, i) => Tensor(model.InputNames[i], t.Shape)).ToList();
        var outputs = model.Outputs.Select((t, i) => Tensor(model.OutputNames[i], t.Shape)).ToList();
        var parameters = (int)Math.Min(int.MaxValue, model.Weights.Sum(w => w.Size));
        var layers = model.Layers.Where(l => l.ClassName != "InputLayer").ToList();
        static string Shapes(IEnumerable<SpecTensor> ts) =>
            string.Join(", ", ts.Select(t => "[" + string.Join(", ", t.Shape.Select(d => d?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?")) + "]"));
        var kinds = string.Join(", ", layers.GroupBy(l => l.ClassName).Select(g => g.Count() > 1 ? $"{g.Key} ×{g.Count()}" : g.Key));
        var description = $"{model.ClassName}, {layers.Count} layers ({kinds}), {parameters:N0} parameters; input {Shapes(inputs)} → output {Shapes(outputs)}";
        return new SpecSummary(name, description, model.ClassName, parameters, inputs, outputs);
    }
}
