using System.Net.Sockets;
using System.Text;

namespace NeuralService.Api.Tests.Integration;

/// <summary>An HTTP/1.1 response read off a socket.</summary>
internal sealed record RawResponse(int Status, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? ContentType => Headers.TryGetValue("content-type", out var c) ? c.Split(';')[0].Trim() : null;
}

/// <summary>Sends a request line exactly as written (HttpClient would normalise <c>..</c> and escapes in the path),
/// so path tricks reach the server as an attacker would send them.</summary>
internal static class RawHttp
{
    public static async Task<RawResponse> SendAsync(Uri server, string method, string target, string? body = null,
        string contentType = "application/json", IReadOnlyDictionary<string, string>? headers = null)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        await using var stream = tcp.GetStream();
        var bytes = body is null ? [] : Encoding.UTF8.GetBytes(body);
        var request = new StringBuilder($"{method} {target} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\n");
        if (body is not null) request.Append($"Content-Type: {contentType}\r\nContent-Length: {bytes.Length}\r\n");
        foreach (var (k, v) in headers ?? new Dictionary<string, string>()) request.Append($"{k}: {v}\r\n");
        request.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()));
        await stream.WriteAsync(bytes);
        using var ms = new MemoryStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await stream.CopyToAsync(ms, cts.Token);
        return Parse(ms.ToArray());
    }

    private static RawResponse Parse(byte[] response)
    {
        var split = response.AsSpan().IndexOf("\r\n\r\n"u8);
        var head = Encoding.ASCII.GetString(response, 0, split).Split("\r\n");
        var status = int.Parse(head[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = head.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim().ToLowerInvariant(), p => p[1].Trim());
        var body = response[(split + 4)..];
        if (headers.TryGetValue("transfer-encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase)) body = Dechunk(body);
        return new RawResponse(status, headers, Encoding.UTF8.GetString(body));
    }

    /// <summary>Chunk sizes count bytes, so the body is joined before it is decoded (a message with non-ASCII text would
    /// otherwise be cut at the wrong places).</summary>
    private static byte[] Dechunk(byte[] chunked)
    {
        using var body = new MemoryStream();
        var pos = 0;
        while (true)
        {
            var eol = pos + chunked.AsSpan(pos).IndexOf("\r\n"u8);
            var size = Convert.ToInt32(Encoding.ASCII.GetString(chunked, pos, eol - pos).Split(';')[0], 16);
            if (size == 0) return body.ToArray();
            body.Write(chunked, eol + 2, size);
            pos = eol + 2 + size + 2;
        }
    }
}
