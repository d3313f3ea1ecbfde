using System.Net;
using System.Text.Json;
using NeuralService.Api.Tests.Support;
using NeuralService.Inference.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Two service processes on different ports sharing one PostgreSQL database and one data directory, as two
/// replicas of a Deployment do.</summary>
[Collection(PostgresCollection.Name)]
public sealed class MultiReplicaTests(PostgresServer postgres) : IDisposable
{
    private const int LongEpochs = 600;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<(ServiceProcess A, ServiceProcess B)> StartPairAsync()
    {
        postgres.Require();
        var env = new Dictionary<string, string>
        {
            ["NEURAL_DATA_DIR"] = _dir.Path, ["Neural__Storage__Provider"] = "postgres", ["Neural__Storage__ConnectionString"] = postgres.NewDatabase(),
            ["Neural__UseCuda"] = "false", ["Neural__Batcher__MaxQueueDelayMs"] = "1",
            ["Jobs__LeaseSeconds"] = "3", ["Jobs__HeartbeatSeconds"] = "1", ["Jobs__PollSeconds"] = "0.2",
        };
        var a = ServiceProcess.StartAsync(env);
        var b = ServiceProcess.StartAsync(env);
        await Task.WhenAll(a, b);
        return (a.Result, b.Result);
    }

    [SkippableFact]
    public async Task ReplicasShareModelsRunEachJobOnceAndTakeOverAKilledReplicasJob()
    {
        var (a, b) = await StartPairAsync();
        using var _ = a;
        using var __ = b;

        // A model registered through one replica is served by the other.
        var onnx = TestModels.DenseOnnx();
        Assert.Equal(HttpStatusCode.Created, (await a.Client.PostAsync("/v1/models/shared/versions", TestModels.Octets(onnx))).StatusCode);
        var x = new float[] { 0.5f, -1, 2, 0.25f };
        var body = JsonSerializer.Serialize(new { inputs = new[] { new { name = TestModels.InputName(onnx), shape = new[] { 1, 4 }, datatype = "FP32", data = x } } });
        var served = await b.Client.PostAsync("/v2/models/shared/infer", TestModels.Json(body));
        Assert.True(served.StatusCode == HttpStatusCode.OK, await served.Content.ReadAsStringAsync());
        var output = JsonDocument.Parse(await served.Content.ReadAsStringAsync()).RootElement.GetProperty("outputs")[0].GetProperty("data")
            .EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(TestModels.RunOrt(onnx, x, 1, 4), output, (p, q) => Math.Abs(p - q) < 1e-5f);

        // Jobs queued through either replica each run exactly once.
        await UploadBlobsAsync(a.Client, "blobs", rows: 60);
        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
            ids.Add((await SubmitAsync(i % 2 == 0 ? a.Client : b.Client, JobBody("blobs", $"once-{i}", epochs: 2))).GetProperty("id").GetString()!);
        foreach (var id in ids)
        {
            var job = await WaitAsync(b.Client, id, seconds: 120);
            Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
            Assert.Equal(1, job.GetProperty("attempts").GetInt32());
            var model = JsonDocument.Parse(await a.Client.GetStringAsync($"/v1/models/{job.GetProperty("registered_model").GetString()}")).RootElement;
            Assert.Equal(1, model.GetProperty("versions").GetArrayLength());
        }

        // A job is followed from the replica that did not take it: progress comes through the shared store.
        var followedId = (await SubmitAsync(a.Client, JobBody("blobs", "followed", epochs: 40))).GetProperty("id").GetString()!;
        var stream = await ServerSentEvents.ReadAllAsync(b.Client, $"/v1/jobs/{followedId}/events", TimeSpan.FromSeconds(120));
        var states = stream.Where(e => e.Type == "state").Select(e => e.Data).ToList();
        // Every epoch's event and the batch progress of the run on the other replica came through the store, in order.
        Assert.Equal(Enumerable.Range(1, 40), stream.Where(e => e.Type == "epoch").Select(e => e.Data.GetProperty("epoch").GetInt32()));
        Assert.Contains(stream, e => e.Type == "batch");
        Assert.Equal(stream.Select(e => e.IdNumber).Order(), stream.Select(e => e.IdNumber));
        Assert.Equal("succeeded", states[^1].GetProperty("state").GetString());
        var epochs = states.Select(j => j.GetProperty("epoch").GetInt32()).ToList();
        Assert.Equal(epochs.Order(), epochs);
        Assert.Equal(40, epochs[^1]);

        // Killing the replica that runs a job mid-way: the other takes the job back and resumes it from its checkpoint.
        var longId = (await SubmitAsync(a.Client, JobBody("blobs", "survivor", epochs: LongEpochs))).GetProperty("id").GetString()!;
        JsonElement running;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        do
        {
            running = JsonDocument.Parse(await a.Client.GetStringAsync($"/v1/jobs/{longId}")).RootElement;
            Assert.True(DateTime.UtcNow < deadline, running.ToString());
            await Task.Delay(20);
        } while (running.GetProperty("epoch").GetInt32() < 3);
        // Each replica trains in a child process of its own: the job's worker is the child of the replica that claimed it.
        var worker = running.GetProperty("worker").GetString()!;
        var runner = ParentOf(int.Parse(worker.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture));
        var (victim, survivor) = runner == a.ProcessId ? (a, b) : (b, a);
        Assert.Equal(victim.ProcessId, runner);
        victim.Kill();

        var resumed = await WaitAsync(survivor.Client, longId, seconds: 120);
        Assert.True(resumed.GetProperty("state").GetString() == "succeeded", resumed.ToString());
        Assert.Equal(2, resumed.GetProperty("attempts").GetInt32());
        Assert.NotEqual(worker, resumed.GetProperty("worker").GetString());
        Assert.Equal(Enumerable.Range(1, LongEpochs), resumed.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("epoch").GetInt32()));
        var versions = JsonDocument.Parse(await survivor.Client.GetStringAsync("/v1/models/survivor")).RootElement.GetProperty("versions");
        Assert.Equal(1, versions.GetArrayLength());
    }

    /// <summary>The parent pid of a running process (<c>/proc/PID/stat</c>, the field after the state).</summary>
    private static int ParentOf(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        return int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
