using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace NeuralService.Api.Tests.Fuzz;

/// <summary>One generated request, written to the socket exactly as given (HttpClient would normalise the path, check
/// header values and pick its own multipart boundary). Only the HTTP framing is kept valid: a request Kestrel itself
/// refuses (a malformed request line, an oversized header) never reaches the app and answers without a body.</summary>
public sealed record FuzzRequest(string Method, string Target, string? ContentType, byte[]? Body, IReadOnlyList<(string Name, string Value)> Headers, string Operation, string What)
{
    public FuzzRequest(string method, string target, string? contentType, byte[]? body, string operation, string what)
        : this(method, target, contentType, body, [], operation, what) { }

    /// <summary>The request as a failure message shows it: request line, headers, and the body's start (text, or hex when binary).</summary>
    public string Describe()
    {
        var sb = new StringBuilder($"{Method} {Target} ({Operation}; {What})");
        if (ContentType is not null) sb.Append($"\n  Content-Type: {ContentType}");
        foreach (var (k, v) in Headers) sb.Append($"\n  {k}: {v}");
        if (Body is { Length: > 0 } b)
        {
            var head = b.AsSpan(0, Math.Min(b.Length, 400));
            var text = head.ToArray().All(x => x is >= 0x20 and < 0x7f or (byte)'\n' or (byte)'\r' or (byte)'\t');
            sb.Append($"\n  body ({b.Length} bytes): ").Append(text ? Encoding.ASCII.GetString(head) : Convert.ToHexString(head));
            if (b.Length > head.Length) sb.Append('…');
        }
        return sb.ToString();
    }
}

public sealed record FuzzResponse(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string? MediaType => Headers.TryGetValue("content-type", out var c) ? c.Split(';')[0].Trim() : null;
    public string Text => Encoding.UTF8.GetString(Body);
}

public static class FuzzHttp
{
    public static async Task<FuzzResponse> SendAsync(Uri server, FuzzRequest r, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port, cts.Token);
        await using var stream = tcp.GetStream();
        var head = new StringBuilder($"{r.Method} {r.Target} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\n");
        if (r.Body is not null)
        {
            if (r.ContentType is not null) head.Append($"Content-Type: {r.ContentType}\r\n");
            head.Append(CultureInfo.InvariantCulture, $"Content-Length: {r.Body.Length}\r\n");
        }
        else if (r.Method is "POST" or "PUT") head.Append("Content-Length: 0\r\n");
        foreach (var (k, v) in r.Headers) head.Append($"{k}: {v}\r\n");
        head.Append("\r\n");
        await stream.WriteAsync(Encoding.Latin1.GetBytes(head.ToString()), cts.Token);
        try
        {
            if (r.Body is { Length: > 0 }) await stream.WriteAsync(r.Body, cts.Token);
        }
        catch (IOException)
        {
            // The server may answer (413, 400) and close before it has read a large body; the answer is still there.
        }
        using var ms = new MemoryStream();
        try { await stream.CopyToAsync(ms, cts.Token); }
        catch (IOException) when (ms.Length > 0) { }
        return Parse(ms.ToArray());
    }

    private static FuzzResponse Parse(byte[] response)
    {
        var split = response.AsSpan().IndexOf("\r\n\r\n"u8);
        if (split < 0) throw new InvalidDataException($"no complete HTTP response ({response.Length} bytes): {Encoding.Latin1.GetString(response.AsSpan(0, Math.Min(200, response.Length)))}");
        var head = Encoding.Latin1.GetString(response, 0, split).Split("\r\n");
        var status = int.Parse(head[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in head.Skip(1))
        {
            var p = line.Split(':', 2);
            headers[p[0].Trim().ToLowerInvariant()] = p.Length > 1 ? p[1].Trim() : "";
        }
        var body = response[(split + 4)..];
        if (headers.TryGetValue("transfer-encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase)) body = Dechunk(body);
        return new FuzzResponse(status, headers, body);
    }

    private static byte[] Dechunk(byte[] chunked)
    {
        using var ms = new MemoryStream();
        var pos = 0;
        while (pos < chunked.Length)
        {
            var eol = chunked.AsSpan(pos).IndexOf("\r\n"u8);
            if (eol < 0) break;
            var size = Convert.ToInt32(Encoding.ASCII.GetString(chunked, pos, eol).Split(';')[0], 16);
            if (size == 0) break;
            ms.Write(chunked, pos + eol + 2, Math.Min(size, chunked.Length - pos - eol - 2));
            pos += eol + 2 + size + 2;
        }
        return ms.ToArray();
    }
}
