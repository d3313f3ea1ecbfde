using System.Text;

namespace NeuralService.Api.Tests.Fuzz;

/// <summary>One part of a multipart form: its headers as written, and its content.</summary>
public sealed record Part(string Headers, byte[] Content)
{
    public static Part Field(string name, string value) => new($"Content-Disposition: form-data; name=\"{name}\"", Encoding.UTF8.GetBytes(value));

    public static Part File(string name, string fileName, byte[] content) =>
        new($"Content-Disposition: form-data; name=\"{name}\"; filename=\"{fileName}\"\r\nContent-Type: application/octet-stream", content);
}

/// <summary>multipart/form-data written by hand, so a form can be broken the ways a careless or hostile client breaks
/// it: boundaries that do not match the header, missing or duplicated parts, no closing boundary, odd part headers,
/// bare LF line ends, preambles, too many parts, odd field values and file names.</summary>
public static class Multipart
{
    public const string Boundary = "fuzz-boundary-7MA4YWxkTrZu0gW";

    public static (string ContentType, byte[] Body) Write(IEnumerable<Part> parts, string boundary = Boundary, string newline = "\r\n", bool close = true, string preamble = "")
    {
        using var ms = new MemoryStream();
        void Text(string s) => ms.Write(Encoding.UTF8.GetBytes(s));
        Text(preamble);
        foreach (var p in parts)
        {
            Text($"--{boundary}{newline}{p.Headers.Replace("\r\n", newline, StringComparison.Ordinal)}{newline}{newline}");
            ms.Write(p.Content);
            Text(newline);
        }
        if (close) Text($"--{boundary}--{newline}");
        return ($"multipart/form-data; boundary={boundary}", ms.ToArray());
    }

    private static readonly string[] OddValues =
    [
        "", " ", "abc", "-1", "-99999999999", "99999999999", "2147483648", "1e3", "0x10", "NaN", "true", "maybe", "0", "1",
        "../../etc/passwd", "..", "🦀", "\u202Eevil", "a\u0000b", "ds-0123456789ab", "fashion-mnist", "float64", "int64", "float32",
        "csv", "npy", "npz", "idx", "exe", "CSV", "label", "a", "x".PadRight(300, 'x'),
    ];

    private static readonly string[] OddFileNames =
    [
        "../../../../tmp/evil.csv", "..\\..\\evil.csv", "/etc/passwd", "", ".", "..", "a/b/c.csv", "🦀.csv", "x.csv\u0000.exe",
        "CON", "x.CSV", "x.csv.gz", "x.onnx", "x.npy", "x", "x.", new string('a', 300) + ".csv", "x.c$v", "%2e%2e%2fx.csv",
    ];

    /// <summary>The form broken in one or two ways; the Content-Type to send with it and what was done.</summary>
    public static (string ContentType, byte[] Body, string What) Mutate(Random rng, List<Part> valid)
    {
        var parts = valid.ToList();
        var steps = new List<string>();
        string boundary = Boundary, newline = "\r\n", preamble = "";
        var close = true;
        string? contentType = null;
        var count = 1 + rng.Next(2);
        for (var s = 0; s < count; s++)
            switch (rng.Next(14))
            {
                case 0:
                    contentType = rng.Next(3) switch
                    {
                        0 => "multipart/form-data; boundary=other-boundary",
                        1 => "multipart/form-data",
                        _ => $"multipart/form-data; boundary=\"{Boundary}\"",
                    };
                    steps.Add($"Content-Type '{contentType}'");
                    break;
                case 1:
                    boundary = rng.Next(2) == 0 ? new string('b', 71 + rng.Next(200)) : "b" + rng.Next(100);
                    steps.Add($"boundary of {boundary.Length} chars");
                    break;
                case 2:
                    close = false;
                    steps.Add("no closing boundary");
                    break;
                case 3 when parts.Count > 0:
                    var dup = parts[rng.Next(parts.Count)];
                    parts.Insert(rng.Next(parts.Count + 1), dup with { Content = rng.Next(2) == 0 ? dup.Content : Encoding.UTF8.GetBytes("other") });
                    steps.Add($"part duplicated: {dup.Headers.Split("\r\n")[0]}");
                    break;
                case 4 when parts.Count > 0:
                    var i = rng.Next(parts.Count);
                    steps.Add($"part removed: {parts[i].Headers.Split("\r\n")[0]}");
                    parts.RemoveAt(i);
                    break;
                case 5 when parts.Count > 0:
                    var j = rng.Next(parts.Count);
                    var headers = rng.Next(5) switch
                    {
                        0 => "",
                        1 => "Content-Disposition: form-data",
                        2 => "Content-Disposition: attachment; name=\"file\"",
                        3 => "Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''%F0%9F%A6%80.csv",
                        _ => "X-Header: " + new string('h', 20_000) + "\r\n" + parts[j].Headers,
                    };
                    steps.Add($"part headers '{headers[..Math.Min(60, headers.Length)]}'");
                    parts[j] = parts[j] with { Headers = headers };
                    break;
                case 6:
                    newline = "\n";
                    steps.Add("bare LF line ends");
                    break;
                case 7:
                    preamble = rng.Next(2) == 0 ? "preamble text\r\n" : $"--{Boundary}\r\n\r\n";
                    steps.Add($"preamble '{preamble.Trim()}'");
                    break;
                case 8:
                    var many = rng.Next(2) == 0 ? 1100 : 50;
                    for (var k = 0; k < many; k++) parts.Add(Part.Field("extra" + k, "v"));
                    steps.Add($"{many} extra fields");
                    break;
                case 9:
                    var fileIndex = parts.FindIndex(p => p.Headers.Contains("filename=", StringComparison.Ordinal));
                    if (fileIndex < 0) goto default;
                    var fileName = OddFileNames[rng.Next(OddFileNames.Length)];
                    var fieldName = parts[fileIndex].Headers.Split('"')[1];
                    parts[fileIndex] = Part.File(fieldName, fileName, parts[fileIndex].Content);
                    steps.Add($"file name '{fileName}'");
                    break;
                case 10 when parts.Count > 0:
                    var e = parts.FindIndex(p => p.Headers.Contains("filename=", StringComparison.Ordinal));
                    if (e < 0) goto default;
                    var len = parts[e].Content.Length;
                    var cut = rng.Next(2) == 0 ? 0 : rng.Next(len);
                    parts[e] = parts[e] with { Content = parts[e].Content[..cut] };
                    steps.Add($"file part cut to {cut} of {len} bytes");
                    break;
                case 11:
                    var body = Write(parts, boundary, newline, close, preamble).Body;
                    var at = rng.Next(body.Length);
                    steps.Add($"form truncated to {at} bytes");
                    return (contentType ?? $"multipart/form-data; boundary={boundary}", body[..at], string.Join("; ", steps));
                default:
                    var name = rng.Next(3) switch
                    {
                        0 => "name", 1 => "label_index", _ => new[] { "format", "label_column", "label_type", "header", "features_key", "labels_key", "file", "description" }[rng.Next(8)],
                    };
                    var value = OddValues[rng.Next(OddValues.Length)];
                    parts.RemoveAll(p => p.Headers == Part.Field(name, "").Headers);
                    parts.Add(Part.Field(name, value));
                    steps.Add($"field {name}='{value}'");
                    break;
            }
        var (ct, bytes) = Write(parts, boundary, newline, close, preamble);
        return (contentType ?? ct, bytes, string.Join("; ", steps));
    }
}
