using System.Diagnostics;
using System.Net;
using System.Text.Json;
using NeuralService.Api.Jobs;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Job event streams over TCP: ids, resuming with Last-Event-ID or ?after=, events of a job run by another
/// process reaching the stream through the store, and live progress in GET /v1/jobs/{id}.</summary>
public sealed class JobEventsOverTcpTests(Xunit.Abstractions.ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static HttpRequestMessage Get(string path, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        return request;
    }

    private static Task<List<ServerSentEvent>> ReadAsync(HttpClient client, string path, string? lastEventId = null) =>
        ServerSentEvents.ReadAllAsync(client, Get(path, lastEventId), TimeSpan.FromSeconds(90), _ => true);

    private static void AssertSame(IEnumerable<ServerSentEvent> expected, IEnumerable<ServerSentEvent> actual) =>
        Assert.Equal(expected.Select(e => (e.Id, e.Type, e.Data.GetRawText())), actual.Select(e => (e.Id, e.Type, e.Data.GetRawText())));

    [Fact]
    public async Task AStreamResumedAfterAnyIdGetsExactlyTheLaterEvents()
    {
        using var api = new KestrelApi(_dir.Path, new Dictionary<string, string?> { ["Neural:Workers"] = "1" });
        using var client = api.NewClient();
        await UploadBlobsAsync(client, "blobs-resume", rows: 200);
        var id = (await SubmitAsync(client, JobBody("blobs-resume", "resumed", epochs: 30))).GetProperty("id").GetString()!;
        var path = $"/v1/jobs/{id}/events";

        // Hang up after the first epoch, then resume live from the last id seen, as a browser's EventSource does.
        var first = await ServerSentEvents.ReadAllAsync(client, Get(path), TimeSpan.FromSeconds(60), e => e.Type != "epoch");
        Assert.Equal("epoch", first[^1].Type);
        var rest = await ReadAsync(client, path, first[^1].Id);
        Assert.Equal("succeeded", rest[^1].State());
        Assert.Contains(rest, e => e.Type == "epoch");

        // Together they are the whole stream, once each, ids 1, 2, 3…; replayed after the end it is the same.
        var whole = first.Concat(rest).ToList();
        Assert.Equal(Enumerable.Range(1, whole.Count).Select(i => (long)i), whole.Select(e => e.IdNumber));
        var replay = await ReadAsync(client, path);
        AssertSame(whole, replay);
        Assert.Equal(30, replay.Count(e => e.Type == "epoch"));

        // From any id: exactly the later events, by ?after= or by Last-Event-ID (which wins: it is the newer one).
        foreach (var k in new[] { 1, whole.Count / 3, whole.Count / 2, whole.Count - 2 })
        {
            var after = whole[k - 1].Id!;
            AssertSame(whole.Skip(k), await ReadAsync(client, $"{path}?after={after}"));
            AssertSame(whole.Skip(k), await ReadAsync(client, $"{path}?after=0", after));
        }

        // After the last event of an ended job: nothing, and the stream ends at once.
        var clock = Stopwatch.StartNew();
        Assert.Empty(await ReadAsync(client, path, whole[^1].Id));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");

        // Lean state events, epoch events with all logs, batch events with progress.
        var state = whole.First(e => e.Type == "state").Data;
        Assert.False(state.TryGetProperty("request", out _));
        Assert.Equal(id, state.GetProperty("job_id").GetString());
        var epoch = whole.First(e => e.Type == "epoch").Data;
        Assert.True(epoch.GetProperty("metrics").GetProperty("accuracy").GetDouble() >= 0);
        Assert.Equal(30, epoch.GetProperty("epochs").GetInt32());
        Assert.True(epoch.GetProperty("seconds").GetDouble() > 0);
        var batch = whole.First(e => e.Type == "batch").Data;
        Assert.Equal(13, batch.GetProperty("batches").GetInt32()); // 200 rows in batches of 16
        Assert.True(batch.GetProperty("metrics").GetProperty("loss").GetDouble() > 0);
        Assert.True(batch.GetProperty("samples_per_second").GetDouble() >= 0);

        await ProblemAssert.IsProblemAsync(await client.SendAsync(Get(path, "abc")), 400);
        await ProblemAssert.IsProblemAsync(await client.GetAsync($"{path}?after=-1"), 400);
        await ProblemAssert.IsProblemAsync(await client.GetAsync($"{path}?after=x"), 400);
        var beyond = await ProblemAssert.IsProblemAsync(await client.SendAsync(Get(path, (whole[^1].IdNumber + 1).ToString(System.Globalization.CultureInfo.InvariantCulture))), 400);
        Assert.Contains($"has events up to {whole[^1].Id}", beyond.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task EventsOfAJobRunByAnotherProcessReachTheStreamAndItsProgressShows()
    {
        // Another process (a child worker, a Kubernetes pod) runs the job and writes only to the shared store.
        const string owner = "elsewhere:1:0badf00d";
        using var remote = new SqliteJobStore(Path.Combine(_dir.Path, "registry.db"));
        remote.Insert(new Job("job-remote", JobState.Queued, new JobRequest(null, null, "d", null, new FitSettings(5, 8), "cpu", "m"), DateTimeOffset.UtcNow));
        var job = remote.Claim(owner, "job-remote")!;

        using var api = new KestrelApi(_dir.Path);
        using var client = api.NewClient();
        var received = new List<(ServerSentEvent Event, long Ms)>();
        var clock = Stopwatch.StartNew();
        var stream = ServerSentEvents.ReadAllAsync(client, Get("/v1/jobs/job-remote/events"), TimeSpan.FromSeconds(60), e =>
        {
            lock (received) received.Add((e, clock.ElapsedMilliseconds));
            return true;
        });
        await WaitUntilAsync(() => received.Count == 2); // queued, running

        var sent = clock.ElapsedMilliseconds;
        Assert.Equal(3, remote.AppendProgress(new JobProgress("job-remote", 1, 5, 3, 10, 3, 24, 480, 1.2, new Dictionary<string, double> { ["loss"] = 0.7 }, 1, DateTimeOffset.UtcNow), owner));
        await WaitUntilAsync(() => received.Count == 3);
        output.WriteLine($"a batch event written by another process reached the stream after {received[2].Ms - sent} ms");
        Assert.True(received[2].Ms - sent < 2000, $"a batch event written elsewhere took {received[2].Ms - sent} ms to reach the stream");
        Assert.Equal(3, received[2].Event.Data.GetProperty("batch").GetInt32());

        var shown = JsonDocument.Parse(await client.GetStringAsync("/v1/jobs/job-remote")).RootElement;
        Assert.Equal(3, shown.GetProperty("batch").GetInt32());
        Assert.Equal(3, shown.GetProperty("last_event_id").GetInt64());
        var progress = shown.GetProperty("progress");
        Assert.Equal(1, progress.GetProperty("epoch").GetInt32());
        Assert.Equal(10, progress.GetProperty("batches").GetInt32());
        Assert.Equal(480, progress.GetProperty("samples_per_second").GetDouble());
        Assert.Equal(1.2, progress.GetProperty("eta_seconds").GetDouble());
        Assert.Equal(0.7, progress.GetProperty("metrics").GetProperty("loss").GetDouble());

        Assert.True(remote.Update(job with { Epoch = 1 }, owner, new JobEpochEvent("job-remote", 1, 5, new Dictionary<string, double> { ["loss"] = 0.6 }, 10, 0.001, 0.5, 500, DateTimeOffset.UtcNow)));
        // The epoch ended: the next epoch has not reported yet, so there is no live progress to show.
        await WaitUntilAsync(() => received.Count == 4);
        Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(await client.GetStringAsync("/v1/jobs/job-remote")).RootElement.GetProperty("progress").ValueKind);
        Assert.True(remote.Update(job with { Epoch = 1, State = JobState.Failed, Error = "out of memory", FinishedAt = DateTimeOffset.UtcNow }, owner));

        var events = await stream;
        Assert.Equal([1L, 2, 3, 4, 5], events.Select(e => e.IdNumber));
        Assert.Equal(["state", "state", "batch", "epoch", "state"], events.Select(e => e.Type));
        Assert.Equal("failed", events[^1].State());
        Assert.Equal("out of memory", events[^1].Data.GetProperty("error").GetString());
    }

    [Fact]
    public async Task ARunningJobShowsLiveProgress()
    {
        using var api = new KestrelApi(_dir.Path, new Dictionary<string, string?> { ["Neural:Workers"] = "1" });
        using var client = api.NewClient();
        await UploadBlobsAsync(client, "blobs-progress", rows: 400);
        var body = new
        {
            model = JsonDocument.Parse(TestModels.DenseJson).RootElement, dataset = "blobs-progress",
            compile = new { optimizer = "adam", learning_rate = 0.01, metrics = new[] { "accuracy" } },
            fit = new { epochs = 100_000, batch_size = 4 }, device = "cpu", register_as = "progress",
        };
        var id = (await SubmitAsync(client, body)).GetProperty("id").GetString()!;

        // Two looks a while apart: the numbers move, and every field is filled.
        JsonElement? earlier = null;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var job = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}")).RootElement;
            Assert.True(DateTime.UtcNow < deadline, job.ToString());
            if (job.GetProperty("progress") is { ValueKind: JsonValueKind.Object } p && p.GetProperty("epoch").GetInt32() >= 2)
            {
                Assert.Equal(job.GetProperty("epoch").GetInt32() + 1, p.GetProperty("epoch").GetInt32());
                Assert.Equal(100_000, p.GetProperty("epochs").GetInt32());
                Assert.Equal(100, p.GetProperty("batches").GetInt32());
                var b = p.GetProperty("batch").GetInt32();
                Assert.InRange(b, 1, 100);
                Assert.Equal(b, job.GetProperty("batch").GetInt32());
                Assert.Equal(4L * b, p.GetProperty("samples").GetInt64());
                Assert.True(p.GetProperty("samples_per_second").GetDouble() > 0);
                Assert.True(p.GetProperty("eta_seconds").GetDouble() > 0);
                Assert.True(p.GetProperty("metrics").GetProperty("loss").GetDouble() > 0);
                Assert.True(p.GetProperty("metrics").TryGetProperty("accuracy", out _));
                Assert.True(job.GetProperty("last_event_id").GetInt64() >= 3);
                if (earlier is { } e)
                {
                    Assert.True(p.GetProperty("step").GetInt64() > e.GetProperty("step").GetInt64());
                    break;
                }
                earlier = p.Clone();
                await Task.Delay(600);
            }
            else await Task.Delay(50);
        }
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/v1/jobs/{id}/cancel", null)).StatusCode);
        var canceled = await WaitAsync(client, id);
        Assert.Equal("canceled", canceled.GetProperty("state").GetString());
        Assert.Equal(JsonValueKind.Null, canceled.GetProperty("progress").ValueKind);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }
}
