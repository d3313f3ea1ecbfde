using System.Text.RegularExpressions;

namespace NeuralService.Inference.Registry;

/// <summary>Model, alias and tag names: they appear in URLs and file names, so only a safe alphabet is allowed.</summary>
public static partial class ModelName
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    private static partial Regex Pattern();

    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name) && !name.Contains("..");

    public static string Check(string? name, string what = "model name")
    {
        if (!IsValid(name))
            throw new InvalidModelException($"{what} '{name}' is invalid: use 1-128 characters [A-Za-z0-9._-], starting with a letter or digit, no '..'");
        return name!;
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
