using System.Text.Json;

namespace NeuralService.Api.Tests.Integration;

/// <summary>One event of a stream; <see cref="Id"/> is its <c>id:</c> field (null when it had none).</summary>
internal sealed record ServerSentEvent(string Type, JsonElement Data, string? Id = null)
{
    public long IdNumber => long.Parse(Id ?? throw new InvalidOperationException($"a {Type} event without an id"), System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>Reads a <c>text/event-stream</c> response as it arrives (event/data/id lines, blank line between events).</summary>
internal static class ServerSentEvents
{
    public static Task<List<ServerSentEvent>> ReadAllAsync(HttpClient client, string path, TimeSpan timeout, Action<ServerSentEvent>? onEvent = null) =>
        ReadAllAsync(client, new HttpRequestMessage(HttpMethod.Get, path), timeout, e => { onEvent?.Invoke(e); return true; });

    /// <summary>Reads until the server ends the stream or <paramref name="more"/> returns false (the client then hangs up).</summary>
    public static async Task<List<ServerSentEvent>> ReadAllAsync(HttpClient client, HttpRequestMessage request, TimeSpan timeout, Func<ServerSentEvent, bool> more)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var events = new List<ServerSentEvent>();
        string? type = null, data = null, id = null;
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line["event: ".Length..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line["data: ".Length..];
            else if (line.StartsWith("id: ", StringComparison.Ordinal)) id = line["id: ".Length..];
            else if (line.Length == 0 && type is not null && data is not null)
            {
                var e = new ServerSentEvent(type, JsonDocument.Parse(data).RootElement.Clone(), id);
                events.Add(e);
                (type, data, id) = (null, null, null);
                if (!more(e)) break;
            }
        }
        return events;
    }

    public static string? State(this ServerSentEvent e) => e.Type == "state" ? e.Data.GetProperty("state").GetString() : null;
}
