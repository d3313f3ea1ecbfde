using System.Text.Json;
using NeuralService.Api.Errors;
using NeuralService.Graph.Training;
using NeuralService.Training;

namespace NeuralService.Api.Jobs;

/// <summary>Reads a job's <c>compile</c> section the way Keras's <c>compile</c> takes its arguments (one value, a list
/// in output order, or an object by output name) and applies it to a <see cref="Trainer"/>. Every error is a 400 whose
/// detail starts with the field (<c>compile.loss</c>, <c>compile.loss_weights</c>, <c>compile.metrics</c>).</summary>
public static class JobCompile
{
    public const string DefaultLoss = "sparse_categorical_crossentropy";

    /// <summary>Compiles <paramref name="trainer"/> with the job's optimizer, losses, loss weights and metrics, checked
    /// against the model's outputs.</summary>
    public static void Apply(Trainer trainer, CompileOptions compile)
    {
        var optimizer = JobService.Optimizer(compile);
        var loss = Loss(compile.Loss);
        var weights = LossWeights(compile.LossWeights);
        var metrics = Metrics(compile.Metrics);
        try { trainer.Compile(optimizer, loss, metrics, weights); }
        catch (ArgumentException e) { throw ApiException.BadRequest($"compile.{e.Message}"); }
    }

    public static PerOutput<LossSpec> Loss(JsonElement? value)
    {
        const string field = "compile.loss";
        if (value is not { } v || v.ValueKind == JsonValueKind.Null) return PerOutput.All(new LossSpec(DefaultLoss));
        return v.ValueKind switch
        {
            JsonValueKind.String => PerOutput.All(LossName(v, field)),
            JsonValueKind.Array => PerOutput.ByOrder(v.EnumerateArray().Select((e, i) => LossName(e, $"{field}[{i}]")).ToList()),
            JsonValueKind.Object => PerOutput.ByName(v.EnumerateObject().ToDictionary(p => p.Name, p => LossName(p.Value, $"{field}.{p.Name}"), StringComparer.Ordinal)),
            _ => throw ApiException.BadRequest($"{field} must be a loss name, a list of loss names (one per output) or an object of output name → loss name"),
        };
    }

    public static PerOutput<double>? LossWeights(JsonElement? value)
    {
        const string field = "compile.loss_weights";
        if (value is not { } v || v.ValueKind == JsonValueKind.Null) return null;
        return v.ValueKind switch
        {
            JsonValueKind.Array => PerOutput.ByOrder(v.EnumerateArray().Select((e, i) => Weight(e, $"{field}[{i}]")).ToList()),
            JsonValueKind.Object => PerOutput.ByName(v.EnumerateObject().ToDictionary(p => p.Name, p => Weight(p.Value, $"{field}.{p.Name}"), StringComparer.Ordinal)),
            _ => throw ApiException.BadRequest($"{field} must be a list of numbers (one per output) or an object of output name → number"),
        };
    }

    public static PerOutput<IReadOnlyList<string>> Metrics(JsonElement? value)
    {
        const string field = "compile.metrics";
        if (value is not { } v || v.ValueKind == JsonValueKind.Null) return PerOutput.All<IReadOnlyList<string>>([]);
        switch (v.ValueKind)
        {
            case JsonValueKind.Array when v.EnumerateArray().All(e => e.ValueKind == JsonValueKind.Array):
                return PerOutput.ByOrder<IReadOnlyList<string>>(v.EnumerateArray().Select((e, i) => Names(e, $"{field}[{i}]")).ToList());
            case JsonValueKind.Array:
                return PerOutput.All(Names(v, field));
            case JsonValueKind.Object:
                return PerOutput.ByName(v.EnumerateObject().ToDictionary(p => p.Name, p => Names(p.Value, $"{field}.{p.Name}"), StringComparer.Ordinal));
            default:
                throw ApiException.BadRequest($"{field} must be a list of metric names, a list of lists (one per output) or an object of output name → metric names");
        }
    }

    private static LossSpec LossName(JsonElement e, string field)
    {
        if (e.ValueKind != JsonValueKind.String) throw ApiException.BadRequest($"{field} must be a loss name, got {e.GetRawText()}");
        var name = e.GetString()!;
        if (!Losses.IsKnown(name)) throw ApiException.BadRequest($"{field}: unknown loss '{name}'");
        return new LossSpec(name);
    }

    private static double Weight(JsonElement e, string field) =>
        e.ValueKind == JsonValueKind.Number && e.TryGetDouble(out var w) && double.IsFinite(w) && w >= 0 ? w
            : throw ApiException.BadRequest($"{field} must be a non-negative number, got {e.GetRawText()}");

    /// <summary>A metric name or a list of them.</summary>
    private static IReadOnlyList<string> Names(JsonElement e, string field) => e.ValueKind switch
    {
        JsonValueKind.String => [e.GetString()!],
        JsonValueKind.Array => e.EnumerateArray().Select((m, i) => m.ValueKind == JsonValueKind.String ? m.GetString()!
            : throw ApiException.BadRequest($"{field}[{i}] must be a metric name, got {m.GetRawText()}")).ToList(),
        _ => throw ApiException.BadRequest($"{field} must be a metric name or a list of them, got {e.GetRawText()}"),
    };
}
