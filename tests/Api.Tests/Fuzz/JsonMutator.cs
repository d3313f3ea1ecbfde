using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace NeuralService.Api.Tests.Fuzz;

/// <summary>Turns a valid JSON body into a hostile one: fields dropped or added, values of the wrong kind, extreme and
/// out-of-range numbers, deep nesting, long and odd Unicode strings, nulls, and now and then broken JSON text. Values
/// System.Text.Json cannot hold (1e400, a lone surrogate, 500 levels of nesting) go in as placeholders replaced in the
/// written text.</summary>
public sealed class JsonMutator(Random rng)
{
    private static readonly JsonSerializerOptions Write = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Numbers at and past the edges of every type a field might be read as, written as raw JSON.</summary>
    public static readonly string[] ExtremeNumbers =
    [
        "0", "-0", "-1", "1", "0.5", "-0.5", "1e308", "-1e308", "1.8e308", "-1.8e308", "1e400", "-1e400", "4.9e-324", "1e-400",
        "2147483647", "2147483648", "-2147483648", "-2147483649", "4294967296", "9223372036854775807", "9223372036854775808",
        "-9223372036854775809", "18446744073709551616", "123456789012345678901234567890", "1.0000000000000002", "65536",
        "1e9", "-1e9", "3.4028236e38", "1E+2", "100000", "1048577", "\"NaN\"", "\"Infinity\"", "\"-Infinity\"", "\"1e999\"", "\"12\"",
    ];

    public static readonly string[] OddStrings =
    [
        "", " ", "\u0000", "a\u0000b", "🦀🔥", "\u202Eevil", "e\u0301", "\uFEFF", "名前", "Ω≈ç√", "../../etc/passwd", "..\\..\\windows",
        "mlp:predict", "%00", "%2e%2e%2f", "<script>alert(1)</script>", "' OR 1=1 --", "${jndi:x}", "\r\nX-Injected: 1", "\t",
        "NaN", "Infinity", "null", "true", "-1", "1e400", "FP32", "BYTES", "float64", "adam", "relu", "Dense", "latest", "production",
        "ds-0123456789ab", "job-0123456789abcdef", "fashion-mnist", "CON", "x".PadRight(129, 'x'),
    ];

    private readonly Dictionary<string, string> _raw = [];
    private readonly List<string> _steps = [];

    /// <summary>The mutated body's bytes and a short account of what was done to it.</summary>
    public (byte[] Body, string What) Mutate(JsonNode? example)
    {
        var root = example?.DeepClone();
        var steps = 1 + rng.Next(3);
        for (var i = 0; i < steps; i++) root = Step(root);
        var text = root is null ? "null" : root.ToJsonString(Write);
        foreach (var (token, raw) in _raw) text = text.Replace($"\"{token}\"", raw, StringComparison.Ordinal);
        var bytes = Encoding.UTF8.GetBytes(text);
        if (rng.Next(8) == 0) bytes = BreakText(bytes);
        return (bytes, string.Join("; ", _steps));
    }

    private string Raw(string json, string what)
    {
        var token = $"__raw{_raw.Count}__";
        _raw[token] = json;
        _steps.Add(what);
        return token;
    }

    private JsonNode? Step(JsonNode? root)
    {
        var nodes = new List<(JsonNode? Parent, string? Key, int Index, JsonNode? Node, string Path)>();
        Collect(null, null, -1, root, "$", nodes);
        var pick = nodes[rng.Next(nodes.Count)];
        switch (rng.Next(10))
        {
            case 0 when pick.Parent is not null:
                if (pick.Parent is JsonObject o) o.Remove(pick.Key!);
                else ((JsonArray)pick.Parent).RemoveAt(pick.Index);
                _steps.Add($"dropped {pick.Path}");
                return root;
            case 1:
                var objects = nodes.Where(n => n.Node is JsonObject).ToList();
                if (objects.Count == 0) break;
                var target = objects[rng.Next(objects.Count)];
                var siblings = ((JsonObject)target.Node!).Select(p => p.Key).ToList();
                var name = rng.Next(3) switch
                {
                    0 when siblings.Count > 0 => Variant(siblings[rng.Next(siblings.Count)]),
                    1 => OddStrings[rng.Next(OddStrings.Length)],
                    _ => "extra_" + rng.Next(1000),
                };
                if (((JsonObject)target.Node!).ContainsKey(name)) name += "_";
                ((JsonObject)target.Node!)[name] = RandomValue(depth: 0);
                _steps.Add($"added {target.Path}['{name}']");
                return root;
            case 2:
                var numbers = nodes.Where(n => n.Node is JsonValue v && v.GetValueKind() == JsonValueKind.Number).ToList();
                var at = numbers.Count > 0 && rng.Next(4) > 0 ? numbers[rng.Next(numbers.Count)] : pick;
                var n = ExtremeNumbers[rng.Next(ExtremeNumbers.Length)];
                return Replace(root, at, JsonValue.Create(Raw(n, $"{at.Path} = {n}")));
            case 3:
                var depth = rng.Next(4) == 0 ? 10 + rng.Next(60) : 60 + rng.Next(1000);
                var arrays = rng.Next(2) == 0;
                var nested = arrays ? new string('[', depth) + "1" + new string(']', depth) : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
                return Replace(root, pick, JsonValue.Create(Raw(nested, $"{pick.Path} nested {depth} deep")));
            case 4:
                var length = rng.Next(3) switch { 0 => 300, 1 => 5_000 + rng.Next(20_000), _ => 100_000 + rng.Next(400_000) };
                var ch = new[] { "a", "é", "名", "🦀", "\u0000" }[rng.Next(5)];
                var s = string.Concat(Enumerable.Repeat(ch, length / ch.Length));
                _steps.Add($"{pick.Path} = string of {length} '{ch}'");
                return Replace(root, pick, JsonValue.Create(s));
            case 5:
                var odd = OddStrings[rng.Next(OddStrings.Length)];
                if (rng.Next(4) == 0) return Replace(root, pick, JsonValue.Create(Raw("\"\\uD800x\\uDFFF\"", $"{pick.Path} = lone surrogates")));
                _steps.Add($"{pick.Path} = {JsonSerializer.Serialize(odd)}");
                return Replace(root, pick, JsonValue.Create(odd));
            case 6:
                _steps.Add($"{pick.Path} = null");
                return Replace(root, pick, null);
            case 7:
                var count = rng.Next(2) == 0 ? rng.Next(2, 50) : 10_000 + rng.Next(200_000);
                var element = pick.Node is JsonArray { Count: > 0 } a0 ? a0[0]?.ToJsonString(Write) ?? "null" : ExtremeNumbers[rng.Next(ExtremeNumbers.Length)];
                var big = "[" + string.Join(",", Enumerable.Repeat(element, count)) + "]";
                return Replace(root, pick, JsonValue.Create(Raw(big, $"{pick.Path} = array of {count}× {Short(element)}")));
        }
        var value = RandomValue(depth: 0);
        _steps.Add($"{pick.Path} = {Short(value?.ToJsonString(Write) ?? "null")}");
        return Replace(root, pick, value);
    }

    private static string Short(string s) => s.Length <= 40 ? s : s[..40] + "…";

    private string Variant(string name) => rng.Next(4) switch
    {
        0 => name.ToUpperInvariant(),
        1 => char.ToUpperInvariant(name[0]) + name[1..],
        2 => name.Replace("_", "", StringComparison.Ordinal),
        _ => name + "s",
    };

    private JsonNode? Replace(JsonNode? root, (JsonNode? Parent, string? Key, int Index, JsonNode? Node, string Path) at, JsonNode? value)
    {
        switch (at.Parent)
        {
            case null: return value;
            case JsonObject o: o[at.Key!] = value; break;
            case JsonArray a: a[at.Index] = value; break;
        }
        return root;
    }

    private JsonNode? RandomValue(int depth) => rng.Next(depth > 2 ? 7 : 10) switch
    {
        0 => null,
        1 => JsonValue.Create(rng.Next(2) == 0),
        2 => JsonValue.Create(rng.Next(-5, 100)),
        3 => JsonValue.Create(rng.NextDouble() * 1e6 - 5e5),
        4 => JsonValue.Create(Raw(ExtremeNumbers[rng.Next(ExtremeNumbers.Length)], "extreme number")),
        5 => JsonValue.Create(OddStrings[rng.Next(OddStrings.Length)]),
        6 => JsonValue.Create("s" + rng.Next(100)),
        7 => new JsonArray(),
        8 => new JsonObject { ["x"] = RandomValue(depth + 1), ["name"] = "n" },
        _ => new JsonArray(RandomValue(depth + 1), RandomValue(depth + 1)),
    };

    private static void Collect(JsonNode? parent, string? key, int index, JsonNode? node, string path, List<(JsonNode?, string?, int, JsonNode?, string)> into)
    {
        into.Add((parent, key, index, node, path));
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o.ToList()) Collect(o, k, -1, v, $"{path}.{k}", into);
                break;
            case JsonArray a:
                for (var i = 0; i < a.Count; i++) Collect(a, null, i, a[i], $"{path}[{i}]", into);
                break;
        }
    }

    /// <summary>Damage below the JSON level: truncated text, invalid UTF-8, a byte-order mark, trailing garbage,
    /// a duplicated member, comments, an empty body.</summary>
    private byte[] BreakText(byte[] json)
    {
        var at = json.Length == 0 ? 0 : rng.Next(json.Length);
        switch (rng.Next(8))
        {
            case 0: _steps.Add($"truncated to {at} bytes"); return json[..at];
            case 1:
                byte[][] bad = [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]];
                var b = bad[rng.Next(bad.Length)];
                _steps.Add($"invalid UTF-8 {Convert.ToHexString(b)} at {at}");
                return [.. json[..at], .. b, .. json[at..]];
            case 2: _steps.Add("UTF-8 BOM"); return [0xEF, 0xBB, 0xBF, .. json];
            case 3: _steps.Add("trailing garbage"); return [.. json, .. "}{,]"u8];
            case 4 when json.Length > 1 && json[0] == '{':
                var first = Encoding.UTF8.GetString(json).IndexOf(',');
                if (first < 0) break;
                _steps.Add("first member duplicated");
                return [.. json[..first], (byte)',', .. json[1..first], .. json[first..]];
            case 5: _steps.Add("/* comment */"); return [.. "/* c */"u8, .. json];
            case 6: _steps.Add("empty body"); return [];
        }
        _steps.Add("whitespace only");
        return " \r\n\t "u8.ToArray();
    }
}
