using System.Text.Json;

namespace NeuralService.Api.Tests.Integration;

internal sealed record ServerSentEvent(string Type, JsonElement Data);

/// <summary>Reads a <c>text/event-stream</c> response as it arrives (event/data lines, blank line between events).</summary>
internal static class ServerSentEvents
{
    public static async Task<List<ServerSentEvent>> ReadAllAsync(HttpClient client, string path, TimeSpan timeout, Action<ServerSentEvent>? onEvent = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var response = await client.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, cts.Token);
        response.EnsureSuccessStatusCode();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cts.Token));
        var events = new List<ServerSentEvent>();
        string? type = null, data = null;
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line["event: ".Length..];
            else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line["data: ".Length..];
            else if (line.Length == 0 && type is not null && data is not null)
            {
                var e = new ServerSentEvent(type, JsonDocument.Parse(data).RootElement.Clone());
                events.Add(e);
                onEvent?.Invoke(e);
                (type, data) = (null, null);
            }
        }
        return events;
    }

    public static string? State(this ServerSentEvent e) => e.Type == "state" ? e.Data.GetProperty("state").GetString() : null;
}
