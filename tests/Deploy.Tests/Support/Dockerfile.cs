using System.Text.Json;
using System.Text.RegularExpressions;

namespace NeuralService.Deploy.Tests.Support;

public sealed record Instruction(string Keyword, string Arguments);

/// <summary>One build stage: <c>FROM Base AS Name</c> and its instructions; <see cref="Base"/> has ARGs substituted.</summary>
public sealed record Stage(string Name, string Base, IReadOnlyList<Instruction> Instructions)
{
    public IEnumerable<string> All(string keyword) =>
        Instructions.Where(i => i.Keyword.Equals(keyword, StringComparison.OrdinalIgnoreCase)).Select(i => i.Arguments);

    public string? Last(string keyword) => All(keyword).LastOrDefault();

    /// <summary>ENV set in this stage (KEY=VALUE pairs; unquoted values, as written in deploy/Dockerfile).</summary>
    public IReadOnlyDictionary<string, string> Env()
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var args in All("ENV"))
            foreach (Match m in Regex.Matches(args, @"(\S+?)=(\S*)")) env[m.Groups[1].Value] = m.Groups[2].Value;
        return env;
    }

    /// <summary>An exec-form (JSON array) instruction's words.</summary>
    public static string[] ExecForm(string args) => JsonSerializer.Deserialize<string[]>(args)!;
}

/// <summary>A small reader of deploy/Dockerfile: continuation lines joined, comments dropped, ARG defaults substituted
/// into FROM lines. Enough to check what the image promises without a Docker engine.</summary>
public sealed class Dockerfile
{
    public Dockerfile(string path)
    {
        var lines = new List<string>();
        var current = "";
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.TrimEnd();
            // Comment lines are dropped, also inside a continued instruction (as Docker does).
            if (line.TrimStart().StartsWith('#')) continue;
            if (line.EndsWith('\\')) { current += line[..^1] + " "; continue; }
            current += line;
            if (current.Trim().Length > 0) lines.Add(current.Trim());
            current = "";
        }
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        var stages = new List<Stage>();
        List<Instruction>? instructions = null;
        foreach (var line in lines)
        {
            var space = line.IndexOf(' ');
            var keyword = (space < 0 ? line : line[..space]).ToUpperInvariant();
            var rest = space < 0 ? "" : line[(space + 1)..].Trim();
            if (keyword == "ARG" && instructions is null)
            {
                var eq = rest.IndexOf('=');
                if (eq > 0) args[rest[..eq]] = rest[(eq + 1)..];
                continue;
            }
            if (keyword == "FROM")
            {
                var m = Regex.Match(rest, @"^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$", RegexOptions.IgnoreCase);
                Assert.True(m.Success, $"unreadable FROM line: {line}");
                var image = Regex.Replace(m.Groups[1].Value, @"\$\{(\w+)\}|\$(\w+)", v =>
                    args.TryGetValue(v.Groups[1].Success ? v.Groups[1].Value : v.Groups[2].Value, out var a) ? a : v.Value);
                instructions = [];
                stages.Add(new Stage(m.Groups[2].Success ? m.Groups[2].Value : $"#{stages.Count}", image, instructions));
                continue;
            }
            Assert.True(instructions is not null, $"instruction before the first FROM: {line}");
            instructions!.Add(new Instruction(keyword, rest));
        }
        Stages = stages;
        Args = args;
    }

    public static Dockerfile Load() => new(RepoPaths.Dockerfile);

    public IReadOnlyList<Stage> Stages { get; }
    public IReadOnlyDictionary<string, string> Args { get; }

    public Stage Stage(string name) =>
        Stages.SingleOrDefault(s => s.Name == name) ?? throw new Xunit.Sdk.XunitException($"deploy/Dockerfile has no stage '{name}'");

    /// <summary>The external image a stage finally builds on (following FROM other-stage links).</summary>
    public string RootImage(string name)
    {
        var stage = Stage(name);
        while (Stages.Any(s => s.Name == stage.Base)) stage = Stage(stage.Base);
        return stage.Base;
    }

    /// <summary>The stage and the stages it is built FROM, nearest first (ENV, USER… are inherited along this chain).</summary>
    public IEnumerable<Stage> Chain(string name)
    {
        for (var stage = Stage(name); ; stage = Stage(stage.Base))
        {
            yield return stage;
            if (!Stages.Any(s => s.Name == stage.Base)) yield break;
        }
    }

    /// <summary>The last value of an instruction along a stage's chain (what the final image has).</summary>
    public string? Effective(string stage, string keyword) => Chain(stage).Select(s => s.Last(keyword)).FirstOrDefault(v => v is not null);

    public IReadOnlyDictionary<string, string> EffectiveEnv(string stage)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var s in Chain(stage).Reverse())
            foreach (var (k, v) in s.Env()) env[k] = v;
        return env;
    }
}
