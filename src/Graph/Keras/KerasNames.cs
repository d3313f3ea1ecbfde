using System.Text.RegularExpressions;

namespace NeuralService.Graph.Keras;

/// <summary>Keras's naming conventions: snake_case layer names and per-class counters (<c>dense</c>, <c>dense_1</c>…).</summary>
public static partial class KerasNames
{
    private static readonly Dictionary<string, int> Counters = new(StringComparer.Ordinal);
    private static readonly Lock Gate = new();

    /// <summary>Keras's <c>to_snake_case</c>: Conv2D → conv2d, MaxPooling2D → max_pooling2d, SimpleRNN → simple_rnn.</summary>
    public static string ToSnakeCase(string name)
    {
        var s = FirstPass().Replace(name, "$1_$2");
        s = SecondPass().Replace(s, "$1_$2").ToLowerInvariant();
        return s.StartsWith('_') ? "private" + s : s;
    }

    /// <summary>glorot_uniform → GlorotUniform (names that are already PascalCase are kept).</summary>
    public static string ToPascalCase(string name) =>
        name.Contains('_') || char.IsLower(name[0])
            ? string.Concat(name.Split('_', StringSplitOptions.RemoveEmptyEntries).Select(p => char.ToUpperInvariant(p[0]) + p[1..]))
            : name;

    /// <summary>The next free default name for a layer of <paramref name="className"/>.</summary>
    public static string Next(string className)
    {
        var prefix = ToSnakeCase(className);
        lock (Gate)
        {
            var n = Counters.GetValueOrDefault(prefix);
            Counters[prefix] = n + 1;
            return n == 0 ? prefix : $"{prefix}_{n}";
        }
    }

    /// <summary>Marks an explicit name as taken so that later default names do not collide with it.</summary>
    public static void Reserve(string name)
    {
        var m = Suffix().Match(name);
        var (prefix, n) = m.Success ? (m.Groups[1].Value, int.Parse(m.Groups[2].Value) + 1) : (name, 1);
        lock (Gate) Counters[prefix] = Math.Max(Counters.GetValueOrDefault(prefix), n);
    }

    [GeneratedRegex("(.)([A-Z][a-z]+)")]
    private static partial Regex FirstPass();
    [GeneratedRegex("([a-z])([A-Z])")]
    private static partial Regex SecondPass();
    [GeneratedRegex(@"^(.*)_(\d+)$")]
    private static partial Regex Suffix();
}
