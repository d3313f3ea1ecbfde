using System.Collections.Concurrent;
using System.Text.Json;

namespace NeuralService.Deploy.Tests.Support;

/// <summary>An overlay rendered by a real kustomize (`kubectl kustomize`, no cluster needed), as YAML and as objects.</summary>
public sealed class Rendered
{
    private static readonly ConcurrentDictionary<string, Lazy<Rendered>> Cache = new();

    private Rendered(string yaml, IReadOnlyList<JsonElement> objects)
    {
        Yaml = yaml;
        Objects = objects;
    }

    public string Yaml { get; }
    public IReadOnlyList<JsonElement> Objects { get; }

    /// <summary>deploy/overlays/<paramref name="overlay"/>, rendered once per test run.</summary>
    public static Rendered Overlay(string overlay)
    {
        var kubectl = ExternalTools.Kubectl();
        ExternalTools.Node();
        return Cache.GetOrAdd(overlay, o => new Lazy<Rendered>(() =>
        {
            var r = ExternalTools.Run(kubectl, ["kustomize", RepoPaths.Overlay(o)]);
            Assert.True(r.ExitCode == 0, $"kubectl kustomize deploy/overlays/{o} failed ({r.ExitCode}): {r.Stderr}");
            return FromYaml(r.Stdout);
        })).Value;
    }

    public static Rendered File(string path) => FromYaml(System.IO.File.ReadAllText(path));

    public static Rendered FromYaml(string yaml)
    {
        var r = ExternalTools.Run(ExternalTools.Node(), [Path.Combine(RepoPaths.Validator, "to-json.mjs"), "-"], yaml);
        Assert.True(r.ExitCode == 0, $"to-json.mjs failed ({r.ExitCode}): {r.Stderr}");
        using var doc = JsonDocument.Parse(r.Stdout);
        return new Rendered(yaml, doc.RootElement.EnumerateArray().Select(e => e.Clone()).ToList());
    }

    public IEnumerable<JsonElement> OfKind(string kind) => Objects.Where(o => o.Str("kind") == kind);

    public JsonElement Get(string kind, string name) =>
        OfKind(kind).SingleOrDefault(o => o.GetProperty("metadata").Str("name") == name) is { ValueKind: JsonValueKind.Object } found
            ? found
            : throw new Xunit.Sdk.XunitException($"no {kind} named {name} in the rendered manifests");

    public bool Has(string kind, string name) => OfKind(kind).Any(o => o.GetProperty("metadata").Str("name") == name);

    /// <summary>The API Deployment and its (only) container.</summary>
    public JsonElement ApiDeployment => Get("Deployment", "neural-api");
    public JsonElement PodSpec => ApiDeployment.Path("spec", "template", "spec");
    public JsonElement ApiContainer => PodSpec.GetProperty("containers").EnumerateArray().Single(c => c.Str("name") == "api");

    /// <summary>The ConfigMap's data merged with the Secret's stringData/data (decoded): what envFrom gives the API.</summary>
    public IReadOnlyDictionary<string, string> Settings()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var from in ApiContainer.GetProperty("envFrom").EnumerateArray())
        {
            if (from.TryGetProperty("configMapRef", out var cm))
                foreach (var p in Get("ConfigMap", cm.Str("name")!).Path("data").EnumerateObject()) result[p.Name] = p.Value.GetString()!;
            if (from.TryGetProperty("secretRef", out var s))
            {
                var secret = Get("Secret", s.Str("name")!);
                if (secret.TryGetProperty("stringData", out var sd))
                    foreach (var p in sd.EnumerateObject()) result[p.Name] = p.Value.GetString()!;
                if (secret.TryGetProperty("data", out var d))
                    foreach (var p in d.EnumerateObject()) result[p.Name] = System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(p.Value.GetString()!));
            }
        }
        return result;
    }

    /// <summary>The value of a plain `env` entry of the API container.</summary>
    public string? Env(string name) =>
        ApiContainer.TryGetProperty("env", out var env)
            ? env.EnumerateArray().Where(e => e.Str("name") == name).Select(e => e.Str("value")).FirstOrDefault()
            : null;
}

public static class JsonExtensions
{
    public static string? Str(this JsonElement e, string property) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(property, out var v)
            ? v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText()
            : null;

    public static JsonElement Path(this JsonElement e, params string[] path)
    {
        foreach (var p in path)
            e = e.TryGetProperty(p, out var next) ? next : throw new Xunit.Sdk.XunitException($"missing field {string.Join('.', path)} (at {p})");
        return e;
    }

    public static bool Has(this JsonElement e, params string[] path)
    {
        foreach (var p in path)
            if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty(p, out e)) return false;
        return true;
    }
}
