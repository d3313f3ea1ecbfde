using System.Text.Json;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Every refused request must be an RFC 7807 body with the same status and a human-readable detail.</summary>
internal static class ProblemAssert
{
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage r, params int[] statuses)
    {
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(statuses.Contains((int)r.StatusCode), $"{r.RequestMessage?.Method} {r.RequestMessage?.RequestUri}: got {(int)r.StatusCode}, expected {string.Join(" or ", statuses)}: {body}");
        Assert.True(r.Content.Headers.ContentType?.MediaType == "application/problem+json",
            $"{r.RequestMessage?.RequestUri}: {(int)r.StatusCode} came as '{r.Content.Headers.ContentType}', not problem+json: {body}");
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal((int)r.StatusCode, problem.GetProperty("status").GetInt32());
        Assert.True(problem.TryGetProperty("detail", out var detail) && !string.IsNullOrWhiteSpace(detail.GetString()), $"no detail in {body}");
        return problem;
    }
}
