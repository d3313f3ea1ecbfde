using System.Text.RegularExpressions;

namespace NeuralService.Inference.Registry;

/// <summary>Model, alias and tag names: they appear in URLs and file names, so only a safe alphabet is allowed.</summary>
public static partial class ModelName
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex Pattern();

    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name) && !name.Contains("..");

    private const string Rule = "use 1–128 letters, digits, '.', '_' or '-', starting with a letter or digit";

    public static string Check(string? name, string what = "model name")
    {
        if (!IsValid(name)) throw new InvalidModelException(Problem(name, what));
        return name!;
    }

    /// <summary>Why <paramref name="name"/> is refused and what to send instead (a cleaned-up form of it).</summary>
    public static string Problem(string? name, string what = "model name")
    {
        if (string.IsNullOrEmpty(name)) return $"{what} '' is invalid: it is empty; {Rule}, e.g. 'fashion-mlp'";
        var reason = name.Length > 128 ? $"it is {name.Length} characters long"
            : !char.IsAsciiLetterOrDigit(name[0]) ? $"it starts with '{name[0]}'"
            : name.FirstOrDefault(c => !char.IsAsciiLetterOrDigit(c) && c is not ('.' or '_' or '-')) is var bad and not '\0' ? $"'{bad}' is not allowed"
            : "'..' is not allowed";
        var suggestion = Suggest(name);
        return $"{what} '{name}' is invalid: {reason}; {Rule}{(IsValid(suggestion) ? $", e.g. '{suggestion}'" : "")}";
    }

    /// <summary>The name with every disallowed character made '-', leading punctuation dropped and runs of dots
    /// collapsed, cut to 128 characters.</summary>
    private static string Suggest(string name)
    {
        var chars = name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '-').ToArray();
        var cleaned = new string(chars).TrimStart('.', '_', '-');
        while (cleaned.Contains("..", StringComparison.Ordinal)) cleaned = cleaned.Replace("..", ".", StringComparison.Ordinal);
        return cleaned.Length > 128 ? cleaned[..128] : cleaned;
    }

    /// <summary>Aliases must not look like version numbers, or "3" would be ambiguous.</summary>
    public static string CheckAlias(string? alias)
    {
        Check(alias, "alias");
        if (alias!.All(char.IsAsciiDigit) || alias == "latest")
            throw new InvalidModelException($"alias '{alias}' is invalid: it must not be a number or 'latest'");
        return alias!;
    }
}
