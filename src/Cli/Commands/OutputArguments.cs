using System.Globalization;
using NeuralService.Training;

namespace NeuralService.Cli.Commands;

/// <summary>Parses the per-output compile options: each value (repeated options add up, commas separate) is either
/// bare (<c>--loss mse</c>: one for every output, or several in output order) or names its output
/// (<c>--loss category=sparse_categorical_crossentropy,score=mse</c>). For <c>--metrics</c> a named entry starts that
/// output's list and bare names after it join it (<c>--metrics category=accuracy,score=mae,rmse</c>).</summary>
internal static class OutputArguments
{
    /// <summary><c>--loss</c>: null when not given.</summary>
    public static PerOutput<string>? Losses(IEnumerable<string>? values)
    {
        var (bare, named) = Split(values, "--loss");
        if (named.Count > 0) return PerOutput.ByName(named.ToDictionary(p => p.Output, p => p.Value, StringComparer.Ordinal));
        return bare.Count switch { 0 => null, 1 => PerOutput.All(bare[0]), _ => PerOutput.ByOrder(bare) };
    }

    /// <summary><c>--loss-weights</c>: numbers in output order, or by output name; null when not given.</summary>
    public static PerOutput<double>? Weights(IEnumerable<string>? values)
    {
        var (bare, named) = Split(values, "--loss-weights");
        if (named.Count > 0) return PerOutput.ByName(named.ToDictionary(p => p.Output, p => Number(p.Value), StringComparer.Ordinal));
        return bare.Count == 0 ? null : PerOutput.ByOrder(bare.Select(Number).ToList());
    }

    /// <summary><c>--metrics</c>: one list for every output, or lists by output name.</summary>
    public static PerOutput<IReadOnlyList<string>> Metrics(IEnumerable<string>? values)
    {
        var all = new List<string>();
        var byOutput = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        foreach (var item in Items(values))
        {
            var (output, name) = Named(item, "--metrics");
            if (output is not null)
            {
                if (!byOutput.TryGetValue(output, out current)) byOutput[output] = current = [];
                current.Add(name);
            }
            else (current ?? all).Add(name);
        }
        if (byOutput.Count > 0 && all.Count > 0)
            throw new InvalidDataException($"--metrics: give metrics for every output ({string.Join(",", all)}) or by output name (output=metric), not both");
        return byOutput.Count > 0
            ? PerOutput.ByName(byOutput.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<string>)kv.Value, StringComparer.Ordinal))
            : PerOutput.All<IReadOnlyList<string>>(all);
    }

    /// <summary>The CLI form of per-output values, as <c>training.json</c> and the model metadata record them.</summary>
    public static string Format<T>(IReadOnlyList<string> outputs, IReadOnlyList<T> values, Func<T, string> format) =>
        outputs.Count == 1 ? format(values[0]) : string.Join(",", outputs.Select((o, i) => $"{o}={format(values[i])}"));

    private static (List<string> Bare, List<(string Output, string Value)> Named) Split(IEnumerable<string>? values, string option)
    {
        var bare = new List<string>();
        var named = new List<(string, string)>();
        foreach (var item in Items(values))
        {
            var (output, value) = Named(item, option);
            if (output is null) bare.Add(value);
            else if (named.Any(n => n.Item1 == output)) throw new InvalidDataException($"{option}: output '{output}' is given twice");
            else named.Add((output, value));
        }
        if (bare.Count > 0 && named.Count > 0)
            throw new InvalidDataException($"{option}: give values in output order or by output name (output=value), not both");
        return (bare, named);
    }

    private static IEnumerable<string> Items(IEnumerable<string>? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static (string? Output, string Value) Named(string item, string option)
    {
        var eq = item.IndexOf('=');
        if (eq < 0) return (null, item);
        var output = item[..eq].Trim();
        var value = item[(eq + 1)..].Trim();
        if (output.Length == 0 || value.Length == 0) throw new InvalidDataException($"{option}: '{item}' is not output=value");
        return (output, value);
    }

    private static double Number(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v
            : throw new InvalidDataException($"--loss-weights: '{text}' is not a number");
}
