using System.Net;
using System.Text.Json;
using NeuralService.Api.Jobs;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Endpoints;

public sealed class JobEndpointsTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task ATrainingJobSucceedsRegistersAModelThatServesAndSurvivesARestart()
    {
        string jobId;
        using (var app = new ApiFactory(_dir.Path))
        {
            var client = app.CreateClient();
            await UploadBlobsAsync(client, "blobs");
            var submitted = await SubmitAsync(client, JobBody("blobs", "trained"));
            jobId = submitted.GetProperty("id").GetString()!;
            Assert.Equal("queued", submitted.GetProperty("state").GetString());

            // Follow it as Server-Sent Events until it ends.
            var stream = await client.GetStringAsync($"/v1/jobs/{jobId}/events");
            Assert.StartsWith("event: state\n", stream);
            Assert.Contains("\"state\":\"succeeded\"", stream.Split("\n\n", StringSplitOptions.RemoveEmptyEntries)[^1]);

            var job = await WaitAsync(client, jobId);
            Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
            Assert.Equal(2, job.GetProperty("epoch").GetInt32());
            Assert.Equal(2, job.GetProperty("history").GetArrayLength());
            Assert.True(job.GetProperty("history")[1].GetProperty("metrics").GetProperty("loss").GetDouble() > 0);
            Assert.Equal("trained", job.GetProperty("registered_model").GetString());
            Assert.Contains("neural_training_job_duration_seconds_count{outcome=\"succeeded\"}", await client.GetStringAsync("/metrics"));

            var version = JsonDocument.Parse(await client.GetStringAsync("/v1/models/trained/versions/1")).RootElement;
            var lineage = version.GetProperty("lineage");
            Assert.Equal(jobId, lineage.GetProperty("training_job_id").GetString());
            Assert.Equal("blobs", lineage.GetProperty("dataset").GetString());
            Assert.Equal(2, lineage.GetProperty("hyperparameters").GetProperty("fit").GetProperty("epochs").GetInt32());
            Assert.True(lineage.GetProperty("final_metrics").TryGetProperty("accuracy", out _));

            var predicted = await client.PostAsync("/v1/models/trained:predict", TestModels.Json("""{"instances": [[3.2, 0.1, 0.2, 0.3], [0.1, 0.2, 3.1, 0.3]]}"""));
            Assert.Equal(HttpStatusCode.OK, predicted.StatusCode);
            var rows = JsonDocument.Parse(await predicted.Content.ReadAsStringAsync()).RootElement.GetProperty("predictions");
            foreach (var row in rows.EnumerateArray())
                Assert.Equal(1.0, row.EnumerateArray().Sum(v => v.GetDouble()), 4);

            // Its architecture is kept, so a job can retrain it by reference.
            var again = await SubmitAsync(client, new
            {
                base_model = new { name = "trained", version = "1" }, dataset = "blobs", fit = new { epochs = 1 }, device = "cpu", register_as = "trained",
            });
            var second = await WaitAsync(client, again.GetProperty("id").GetString()!);
            Assert.Equal(2, second.GetProperty("registered_version").GetInt32());
        }

        // Before the restart: two jobs recorded as running by a process that is gone (one with starts to spare, one
        // that used them all) and one still queued.
        var request = JsonSerializer.Deserialize<JobRequest>(JsonSerializer.Serialize(JobBody("blobs", "after-restart", epochs: 1), JobJson.Options), JobJson.Options)!;
        request = request with { Compile = new CompileOptions(), Fit = new FitSettings(1, 16) };
        using (var store = new SqliteJobStore(Path.Combine(_dir.Path, "registry.db")))
        {
            store.Insert(new Job("job-running", JobState.Running, request, DateTimeOffset.UtcNow.AddMinutes(-2), StartedAt: DateTimeOffset.UtcNow, Attempts: 1));
            store.Insert(new Job("job-exhausted", JobState.Running, request, DateTimeOffset.UtcNow.AddMinutes(-1), StartedAt: DateTimeOffset.UtcNow, Attempts: 3));
            store.Insert(new Job("job-queued", JobState.Queued, request, DateTimeOffset.UtcNow));
        }

        using (var app = new ApiFactory(_dir.Path))
        {
            var client = app.CreateClient();
            var old = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{jobId}")).RootElement;
            Assert.Equal("succeeded", old.GetProperty("state").GetString());
            var exhausted = await WaitAsync(client, "job-exhausted");
            Assert.Equal("interrupted", exhausted.GetProperty("state").GetString());
            Assert.Contains("attempt 3 of 3", exhausted.GetProperty("error").GetString());
            var resumed = await WaitAsync(client, "job-running");
            Assert.True(resumed.GetProperty("state").GetString() == "succeeded", resumed.ToString());
            Assert.Equal(2, resumed.GetProperty("attempts").GetInt32());
            var queued = await WaitAsync(client, "job-queued");
            Assert.True(queued.GetProperty("state").GetString() == "succeeded", queued.ToString());
            Assert.Equal(5, JsonDocument.Parse(await client.GetStringAsync("/v1/jobs")).RootElement.GetProperty("jobs").GetArrayLength());
        }
    }

    [Fact]
    public async Task InvalidJobsAreRefusedAndQueuedJobsCanBeCanceled()
    {
        // In-process until batch/epoch events reach SSE through the job store from a job's own process.
        using var app = new ApiFactory(_dir.Path, new Dictionary<string, string?> { ["Neural:Workers"] = "1" });
        var client = app.CreateClient();
        await UploadBlobsAsync(client, "small", rows: 30);

        async Task<int> Status(object body) => (int)(await client.PostAsync("/v1/jobs", TestModels.Json(JsonSerializer.Serialize(body)))).StatusCode;
        Assert.Equal(404, await Status(JobBody("no-such-dataset", "x")));
        Assert.Equal(400, await Status(JobBody("small", "bad..name")));
        Assert.Equal(400, await Status(new { dataset = "small", register_as = "x" }));
        Assert.Equal(400, await Status(new { model = JsonDocument.Parse(TestModels.DenseJson).RootElement, dataset = "small", register_as = "x", compile = new { optimizer = "nope" } }));
        Assert.Equal(400, await Status(new { model = JsonDocument.Parse(TestModels.DenseJson).RootElement, dataset = "small", register_as = "x", fit = new { epochs = 0 } }));
        Assert.Equal(400, await Status(new { model = JsonDocument.Parse(TestModels.DenseJson).RootElement, dataset = "small", register_as = "x", compile = new { metrics = new[] { "accuracy", "no_such_metric" } } }));
        Assert.Equal(404, (int)(await client.GetAsync("/v1/jobs/job-none")).StatusCode);

        // A long job occupies the only worker, so the next one waits in the queue and can be canceled there.
        var running = await SubmitAsync(client, JobBody("small", "long", epochs: 100000));
        var queued = await SubmitAsync(client, JobBody("small", "never"));
        var canceled = await client.PostAsync($"/v1/jobs/{queued.GetProperty("id").GetString()}/cancel", null);
        Assert.Equal(HttpStatusCode.Accepted, canceled.StatusCode);
        Assert.Equal("canceled", (await WaitAsync(client, queued.GetProperty("id").GetString()!)).GetProperty("state").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await client.PostAsync($"/v1/jobs/{queued.GetProperty("id").GetString()}/cancel", null)).StatusCode);

        // A job followed from while it is queued streams every epoch once the worker gets to it.
        var followed = (await SubmitAsync(client, JobBody("small", "followed"))).GetProperty("id").GetString()!;
        using var response = await client.GetAsync($"/v1/jobs/{followed}/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        Assert.Equal("event: state", await reader.ReadLineAsync());
        Assert.Contains("\"state\":\"queued\"", await reader.ReadLineAsync());

        var runningId = running.GetProperty("id").GetString()!;
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/v1/jobs/{runningId}/cancel", null)).StatusCode);
        Assert.Equal("canceled", (await WaitAsync(client, runningId)).GetProperty("state").GetString());

        var events = (await reader.ReadToEndAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        var epochs = events.Where(e => e.StartsWith("event: epoch\n", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, epochs.Count);
        Assert.Contains("\"epoch\":2", epochs[1]);
        Assert.Contains(events, e => e.StartsWith("event: batch\n", StringComparison.Ordinal));
        Assert.Contains("\"state\":\"succeeded\"", events[^1]);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/models/long")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/models/never")).StatusCode);
    }
}
