using System.Text.Json;
using NeuralService.Api.Jobs;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Integration;

/// <summary>SIGTERM to real processes, as Kubernetes sends it before killing a pod: the service and a training worker
/// both checkpoint the running job and put it back in the queue; the service exits 0, the worker 4.</summary>
public sealed class SigtermTests : IDisposable
{
    private const int Epochs = 400;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private Dictionary<string, string> Environment() => new()
    {
        ["NEURAL_DATA_DIR"] = _dir.Path, ["Neural__UseCuda"] = "false", ["Jobs__HeartbeatSeconds"] = "1", ["Jobs__LeaseSeconds"] = "3",
        ["Jobs__PollSeconds"] = "0.2",
    };

    private Job Stored(string id)
    {
        using var store = new SqliteJobStore(Path.Combine(_dir.Path, "registry.db"));
        return store.Get(id)!;
    }

    private async Task WaitForEpochAsync(string id, int epoch)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (Stored(id).Epoch < epoch)
        {
            Assert.True(DateTime.UtcNow < deadline, $"job {id} did not reach epoch {epoch}");
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task TheServiceAndAWorkerEachCheckpointAndRequeueOnSigterm()
    {
        string id;
        using (var service = await ServiceProcess.StartAsync(Environment()))
        {
            await UploadBlobsAsync(service.Client, "blobs", rows: 60);
            id = (await SubmitAsync(service.Client, JobBody("blobs", "sigterm", epochs: Epochs))).GetProperty("id").GetString()!;
            await WaitForEpochAsync(id, 3);
            Assert.Equal(0, await service.TerminateAsync(TimeSpan.FromSeconds(30)));
        }
        var afterService = Stored(id);
        Assert.Equal(JobState.Queued, afterService.State);
        Assert.True(afterService.CheckpointEpoch >= 3, $"checkpoint after epoch {afterService.CheckpointEpoch}");
        Assert.True(File.Exists(Path.Combine(_dir.Path, "jobs", id, $"epoch-{afterService.CheckpointEpoch}.ckpt")));

        // The worker a Kubernetes Job runs: it claims the queued job, resumes, and on SIGTERM does the same.
        using (var worker = ServiceProcess.StartWorker(id, Environment()))
        {
            await WaitForEpochAsync(id, afterService.CheckpointEpoch + 3);
            Assert.Equal(2, Stored(id).Attempts);
            Assert.Equal(4, await worker.TerminateAsync(TimeSpan.FromSeconds(30)));
        }
        var afterWorker = Stored(id);
        Assert.Equal(JobState.Queued, afterWorker.State);
        Assert.True(afterWorker.CheckpointEpoch > afterService.CheckpointEpoch);

        using (var worker = ServiceProcess.StartWorker(id, Environment()))
            Assert.Equal(0, await worker.WaitForExitAsync(TimeSpan.FromSeconds(120)));
        var done = Stored(id);
        Assert.Equal(JobState.Succeeded, done.State);
        Assert.Equal(3, done.Attempts);
        Assert.Equal(Enumerable.Range(1, Epochs), done.History!.Select(h => h.Epoch));
    }
}
