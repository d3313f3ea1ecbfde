using System.Net;
using System.Text.Json;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Integration;

public sealed class CancelOverTcpTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ARunningJobCanceledOverTcpEndsItsStreamCanceledAndRegistersNothing()
    {
        // In-process until batch/epoch events reach SSE through the job store from a job's own process (the process
        // runner's cancel is covered by JobIsolationOverTcpTests).
        using var api = new KestrelApi(_dir.Path, new Dictionary<string, string?> { ["Neural:Workers"] = "1" });
        using var client = api.NewClient();
        using var canceler = api.NewClient();
        await UploadBlobsAsync(client, "blobs-cancel", rows: 60);
        var id = (await SubmitAsync(client, JobBody("blobs-cancel", "never-registered", epochs: 100_000))).GetProperty("id").GetString()!;

        // Cancel once training is visibly under way (its first epoch streamed), from a second connection.
        Task<HttpResponseMessage>? cancel = null;
        var events = await ServerSentEvents.ReadAllAsync(client, $"/v1/jobs/{id}/events", TimeSpan.FromSeconds(60), e =>
        {
            if (e.Type == "epoch" && cancel is null) cancel = canceler.PostAsync($"/v1/jobs/{id}/cancel", null);
        });

        Assert.NotNull(cancel);
        var accepted = await cancel;
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        Assert.Equal("running", JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement.GetProperty("state").GetString());
        Assert.Contains(events, e => e.State() == "running");
        Assert.Equal("canceled", events[^1].State());
        Assert.Equal("canceled while running", events[^1].Data.GetProperty("error").GetString());
        var epochs = events.Where(e => e.Type == "epoch").Select(e => e.Data.GetProperty("epoch").GetInt32()).ToList();
        Assert.True(epochs.Count is >= 1 and < 100_000);

        var job = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}")).RootElement;
        Assert.Equal("canceled", job.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, job.GetProperty("registered_model").ValueKind);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/models/never-registered")).StatusCode);
        Assert.Equal(0, JsonDocument.Parse(await client.GetStringAsync("/v1/models")).RootElement.GetProperty("models").GetArrayLength());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_dir.Path, "blobs")));
        // Canceling again is a conflict, not a second cancel.
        await ProblemAssert.IsProblemAsync(await canceler.PostAsync($"/v1/jobs/{id}/cancel", null), 409);
    }
}
