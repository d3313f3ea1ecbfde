using System.Text.Json;
using NeuralService.Api.Jobs;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Jobs;

/// <summary>The restart rules, on a real Kestrel server: a stop mid-job checkpoints and requeues the job, the next start
/// resumes it from the checkpoint; a job whose owner stops renewing its lease is taken back the same way.</summary>
public sealed class JobRecoveryTests : IDisposable
{
    private const int Epochs = 300;
    private static readonly Dictionary<string, string?> FastLeases = new()
    {
        ["Jobs:LeaseSeconds"] = "2", ["Jobs:HeartbeatSeconds"] = "1", ["Jobs:PollSeconds"] = "0.2",
    };

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<JsonElement> WaitForEpochAsync(HttpClient client, string id, int epoch)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var job = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}")).RootElement;
            if (job.GetProperty("epoch").GetInt32() >= epoch) return job;
            Assert.True(DateTime.UtcNow < deadline, $"job {id} did not reach epoch {epoch}: {job}");
            await Task.Delay(20);
        }
    }

    /// <summary>The stopped service's worker process puts the job back in the queue as it exits; on a loaded machine that
    /// can land just after the host has stopped.</summary>
    private static async Task<Job> WaitForQueuedAsync(SqliteJobStore store, string id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var job = store.Get(id)!;
            if (job.State == JobState.Queued) return job;
            Assert.True(DateTime.UtcNow < deadline, $"job {id} was not queued again after the stop: {job}");
            await Task.Delay(50);
        }
    }

    private static void AssertWholeHistory(JsonElement job)
    {
        var epochs = job.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("epoch").GetInt32()).ToList();
        Assert.Equal(Enumerable.Range(1, Epochs), epochs);
    }

    [Fact]
    public async Task AStopMidJobCheckpointsAndTheNextStartResumesFromThere()
    {
        string id;
        int checkpointed;
        using (var api = new KestrelApi(_dir.Path, FastLeases))
        {
            await UploadBlobsAsync(api.Client, "blobs", rows: 60);
            id = (await SubmitAsync(api.Client, JobBody("blobs", "resumed", epochs: Epochs))).GetProperty("id").GetString()!;
            await WaitForEpochAsync(api.Client, id, 3);
        } // graceful stop: the worker stops at the next batch, checkpoints and requeues

        using (var store = new SqliteJobStore(Path.Combine(_dir.Path, "registry.db")))
        {
            var stopped = await WaitForQueuedAsync(store, id);
            Assert.Equal(JobState.Queued, stopped.State);
            Assert.True(stopped.CheckpointEpoch >= 3 && stopped.CheckpointEpoch < Epochs, $"checkpoint after epoch {stopped.CheckpointEpoch}");
            Assert.Contains("resumes from its checkpoint", stopped.Error);
            Assert.Equal([$"epoch-{stopped.CheckpointEpoch}.ckpt"], Directory.GetFiles(Path.Combine(_dir.Path, "jobs", id)).Select(Path.GetFileName));
            checkpointed = stopped.CheckpointEpoch;
        }

        using (var api = new KestrelApi(_dir.Path, FastLeases))
        {
            var job = await WaitAsync(api.Client, id);
            Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
            Assert.Equal(2, job.GetProperty("attempts").GetInt32());
            Assert.Equal(Epochs, job.GetProperty("epoch").GetInt32());
            AssertWholeHistory(job);
            Assert.True(checkpointed > 0);
            Assert.False(Directory.Exists(Path.Combine(_dir.Path, "jobs", id)), "the checkpoint is removed once the job ends");
            Assert.Equal(1, JsonDocument.Parse(await api.Client.GetStringAsync("/v1/models/resumed")).RootElement.GetProperty("versions").GetArrayLength());
        }
    }

    [Fact]
    public async Task AJobWhoseOwnerStopsRenewingItsLeaseIsResumedFromItsCheckpoint()
    {
        string id;
        using (var api = new KestrelApi(_dir.Path, FastLeases))
        {
            await UploadBlobsAsync(api.Client, "blobs", rows: 60);
            id = (await SubmitAsync(api.Client, JobBody("blobs", "adopted", epochs: Epochs))).GetProperty("id").GetString()!;
            await WaitForEpochAsync(api.Client, id, 2);
        }

        // Make it look as if a process on another machine had claimed it and then went silent.
        using (var store = new SqliteJobStore(Path.Combine(_dir.Path, "registry.db")))
        {
            var requeued = await WaitForQueuedAsync(store, id);
            var claimed = store.Claim("elsewhere:4242:deadbeef", id);
            Assert.True(claimed is not null, $"the requeued job could not be claimed: {requeued}");
            Assert.Equal((true, false), store.Heartbeat(id, "elsewhere:4242:deadbeef"));
            Assert.True(claimed.CheckpointEpoch >= 2);
        }

        using (var api = new KestrelApi(_dir.Path, FastLeases))
        {
            var running = JsonDocument.Parse(await api.Client.GetStringAsync($"/v1/jobs/{id}")).RootElement;
            Assert.Equal("running", running.GetProperty("state").GetString()); // not taken while the lease is fresh
            var job = await WaitAsync(api.Client, id);
            Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
            Assert.Equal(3, job.GetProperty("attempts").GetInt32());
            AssertWholeHistory(job);
        }
    }
}
