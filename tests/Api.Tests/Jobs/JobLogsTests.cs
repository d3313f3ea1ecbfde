using System.Net;
using System.Text.Json;
using NeuralService.Api.Jobs;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Jobs;

/// <summary>A job's log: the lines its worker process and the service wrote about it, kept in the job store, read through
/// GET /v1/jobs/{id}/logs, and removed with the job.</summary>
public sealed class JobLogsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ARealJobsLogHoldsItsStartEveryEpochAndItsEndPagesByAfterAndGoesWithTheJob()
    {
        using var app = new ApiFactory(_dir.Path); // the default runner: the job trains in a child worker process
        var client = app.CreateClient();
        await UploadBlobsAsync(client, "log-blobs");
        var id = (await SubmitAsync(client, JobBody("log-blobs", "logged", epochs: 3))).GetProperty("id").GetString()!;
        Assert.Equal("succeeded", (await WaitAsync(client, id, seconds: 180)).GetProperty("state").GetString());

        // The worker logs the end right after recording it, and the service that launched it then logs its exit, so
        // those lines may follow the state by a moment.
        var lines = await LinesAsync(client, id);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(lines.Any(l => l.Message.Contains(" ended Succeeded", StringComparison.Ordinal))
                 && lines.Any(l => l.Message.Contains("exited with code 0", StringComparison.Ordinal))) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            lines = await LinesAsync(client, id);
        }
        var text = string.Join("\n", lines.Select(l => $"{l.Id} {l.Level} {l.Message}"));
        Assert.Equal(Enumerable.Range(1, lines.Count).Select(i => (long)i), lines.Select(l => l.Id));
        int Index(string part) => lines.FindIndex(l => l.Message.Contains(part, StringComparison.Ordinal));
        var started = Index($"job {id} started (attempt 1");
        var epochs = Enumerable.Range(1, 3).Select(e => Index($"job {id} epoch {e}/3: ")).ToList();
        var ended = Index($"job {id} ended Succeeded");
        Assert.True(started >= 0 && epochs.All(e => e >= 0) && ended >= 0, text);
        Assert.True(started < epochs[0] && epochs[0] < epochs[1] && epochs[1] < epochs[2] && epochs[2] < ended, text);
        // An epoch's line carries its metrics as the history stores them.
        var job = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}")).RootElement;
        var loss = job.GetProperty("history")[2].GetProperty("metrics").GetProperty("loss").GetDouble();
        Assert.Contains($"loss {loss.ToString("G5", System.Globalization.CultureInfo.InvariantCulture)}", lines[epochs[2]].Message);
        Assert.All(lines, l => Assert.Contains(l.Level, new[] { "information", "warning", "error" }));
        Assert.DoesNotContain(lines, l => l.Message.Contains(_dir.Path, StringComparison.Ordinal)); // the data directory is never shown

        // Pages: ?limit= lines after ?after=, next_after to go on from, more while lines beyond the page are there.
        var first = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}/logs?limit=2")).RootElement;
        Assert.Equal([1L, 2L], first.GetProperty("lines").EnumerateArray().Select(l => l.GetProperty("id").GetInt64()));
        Assert.Equal(2, first.GetProperty("next_after").GetInt64());
        Assert.True(first.GetProperty("more").GetBoolean());
        var rest = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}/logs?after=2&limit=1000")).RootElement;
        Assert.Equal(lines.Skip(2).Select(l => l.Id), rest.GetProperty("lines").EnumerateArray().Select(l => l.GetProperty("id").GetInt64()));
        Assert.False(rest.GetProperty("more").GetBoolean());
        var none = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}/logs?after={lines.Count}")).RootElement;
        Assert.Equal(0, none.GetProperty("lines").GetArrayLength());
        Assert.Equal(lines.Count, none.GetProperty("next_after").GetInt64());

        // Deleting the job removes its log.
        Assert.Equal(HttpStatusCode.NoContent, (await client.DeleteAsync($"/v1/jobs/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/v1/jobs/{id}/logs")).StatusCode);
        Assert.Empty(((JobStore)app.Services.GetService(typeof(JobStore))!).Logs(id));
    }

    [Fact]
    public async Task AnUnknownJobIs404ProblemAndBadPagesAre400()
    {
        using var app = new ApiFactory(_dir.Path);
        var client = app.CreateClient();
        var missing = await client.GetAsync("/v1/jobs/job-0123456789abcdef/logs");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        Assert.Contains("job-0123456789abcdef", JsonDocument.Parse(await missing.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());

        await UploadBlobsAsync(client, "log-blobs-2");
        var id = (await SubmitAsync(client, JobBody("log-blobs-2", "logged-2", epochs: 1))).GetProperty("id").GetString()!;
        foreach (var query in new[] { "after=-1", "limit=0", "limit=1001" })
        {
            var bad = await client.GetAsync($"/v1/jobs/{id}/logs?{query}");
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        }
        await WaitAsync(client, id, seconds: 180);
    }

    private sealed record Line(long Id, string Level, string Message);

    private static async Task<List<Line>> LinesAsync(HttpClient client, string id) =>
        JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}/logs?limit=1000")).RootElement.GetProperty("lines").EnumerateArray()
            .Select(l => new Line(l.GetProperty("id").GetInt64(), l.GetProperty("level").GetString()!, l.GetProperty("message").GetString()!)).ToList();
}
