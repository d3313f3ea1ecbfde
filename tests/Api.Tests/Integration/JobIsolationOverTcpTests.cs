using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NeuralService.Api.Jobs.Isolation;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Training never runs inside the serving process: against the real service as its own process, a job built to
/// exhaust memory is stopped at <c>Jobs:MaxMemoryBytes</c> in its own process while inference keeps answering, a
/// canceled job's process is gone within seconds, and a model that could never fit is refused at submit.</summary>
public sealed class JobIsolationOverTcpTests : IDisposable
{
    private const long Budget = 400_000_000;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private Dictionary<string, string> Environment() => new()
    {
        ["NEURAL_DATA_DIR"] = _dir.Path, ["Neural__UseCuda"] = "false", ["Neural__Batcher__MaxQueueDelayMs"] = "1",
        ["Jobs__HeartbeatSeconds"] = "1", ["Jobs__LeaseSeconds"] = "3", ["Jobs__PollSeconds"] = "0.2",
        ["Jobs__MaxMemoryBytes"] = Budget.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>4 → Dense(units) → Dense(units) → Dense(3): 2·units² parameters.</summary>
    private static JsonElement Mlp(string units) => JsonDocument.Parse($$$"""
        {"class_name": "Sequential", "config": {"name": "wide", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "in"}},
          {"class_name": "Dense", "config": {"name": "d1", "units": {{{units}}}, "activation": "relu"}},
          {"class_name": "Dense", "config": {"name": "d2", "units": {{{units}}}, "activation": "relu"}},
          {"class_name": "Dense", "config": {"name": "out", "units": 3, "activation": "softmax"}}]}}
        """).RootElement;

    private static object Body(JsonElement model, int epochs) => new
    {
        model, dataset = "blobs", compile = new { optimizer = "adam", learning_rate = 0.001 }, fit = new { epochs, batch_size = 16 },
        device = "cpu", register_as = "never",
    };

    /// <summary>The pid in a job's <c>worker</c> (<c>host:pid:nonce</c>).</summary>
    private static int WorkerPid(JsonElement job) => int.Parse(job.GetProperty("worker").GetString()!.Split(':')[1], CultureInfo.InvariantCulture);

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
    }

    [Fact]
    public async Task AJobThatExhaustsMemoryFailsAtItsBudgetInItsOwnProcessWhileInferenceKeepsAnswering()
    {
        using var service = await ServiceProcess.StartAsync(Environment());
        var client = service.Client;
        var onnx = TestModels.DenseOnnx();
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/v1/models/served/versions", TestModels.Octets(onnx))).StatusCode);
        await UploadBlobsAsync(client, "blobs", rows: 60);

        // A client infers and checks health throughout; every answer must be 200.
        var infer = JsonSerializer.Serialize(new { inputs = new[] { new { name = TestModels.InputName(onnx), shape = new[] { 1, 4 }, datatype = "FP32", data = new[] { 0.5f, -1, 2, 0.25f } } } });
        using var stop = new CancellationTokenSource();
        var answers = new List<(string What, HttpStatusCode Status)>();
        var serviceRss = 0L;
        var load = Task.Run(async () =>
        {
            using var c = new HttpClient { BaseAddress = service.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
            while (!stop.IsCancellationRequested)
            {
                answers.Add(("infer", (await c.PostAsync("/v2/models/served/infer", TestModels.Json(infer))).StatusCode));
                answers.Add(("health", (await c.GetAsync("/v2/health/ready")).StatusCode));
                serviceRss = Math.Max(serviceRss, ProcessMemory.ResidentBytes(service.ProcessId));
                await Task.Delay(20);
            }
        });

        // 2 × 3000² parameters: an estimate (parameters, adam slots, gradients, activations) of ~150 MB passes the submit
        // check; training really takes over twice that (ONNX Runtime's copies of the graph and its buffers).
        var job = await SubmitAsync(client, Body(Mlp("3000"), epochs: 50));
        var id = job.GetProperty("id").GetString()!;
        var ended = await WaitAsync(client, id, seconds: 90);
        await Task.Delay(500); // inference after the kill too
        await stop.CancelAsync();
        await load;

        Assert.Equal("failed", ended.GetProperty("state").GetString());
        var error = ended.GetProperty("error").GetString()!;
        Assert.Contains($"exceeded its memory budget of {Budget} bytes (Jobs:MaxMemoryBytes) at ", error);
        Assert.Equal(1, ended.GetProperty("attempts").GetInt32());
        // It ran in another process, which is gone; the service itself never came near the job's memory.
        var worker = WorkerPid(ended);
        Assert.NotEqual(service.ProcessId, worker);
        Assert.False(IsRunning(worker));
        Assert.True(serviceRss < Budget / 2, $"the service grew to {serviceRss} bytes");
        Assert.True(answers.Count(a => a.What == "infer") >= 10, $"only {answers.Count} answers");
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Status));
        // Not retried: still failed once the supervisor had its look.
        await Task.Delay(1500);
        Assert.Equal("failed", JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}")).RootElement.GetProperty("state").GetString());
    }

    [Fact]
    public async Task CancelingARunningJobEndsItCanceledWithinSecondsAndItsProcessIsGone()
    {
        using var service = await ServiceProcess.StartAsync(Environment());
        var client = service.Client;
        await UploadBlobsAsync(client, "blobs", rows: 60);
        var id = (await SubmitAsync(client, JobBody("blobs", "never", epochs: 100_000))).GetProperty("id").GetString()!;

        // Wait for the job to train in its own process (it records epochs).
        JsonElement running;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            running = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}")).RootElement;
            if (running.GetProperty("epoch").GetInt32() >= 1) break;
            Assert.True(DateTime.UtcNow < deadline, $"job never trained: {running}");
            await Task.Delay(50);
        }
        var worker = WorkerPid(running);
        Assert.NotEqual(service.ProcessId, worker);
        Assert.True(IsRunning(worker));

        var clock = Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.Accepted, (await client.PostAsync($"/v1/jobs/{id}/cancel", null)).StatusCode);
        var ended = await WaitAsync(client, id, seconds: 30);
        var took = clock.Elapsed;
        Assert.Equal("canceled", ended.GetProperty("state").GetString());
        Assert.True(took < TimeSpan.FromSeconds(8), $"cancel took {took}");
        for (var i = 0; i < 50 && IsRunning(worker); i++) await Task.Delay(100);
        Assert.False(IsRunning(worker), $"worker process {worker} still running after the cancel");
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/models/never")).StatusCode);
    }

    [Fact]
    public async Task AWorkerWhoseServiceIsKilledOutrightCheckpointsRequeuesAndExits()
    {
        string id;
        int worker;
        using (var service = await ServiceProcess.StartAsync(Environment()))
        {
            await UploadBlobsAsync(service.Client, "blobs", rows: 60);
            id = (await SubmitAsync(service.Client, JobBody("blobs", "orphan", epochs: 100_000))).GetProperty("id").GetString()!;
            JsonElement running;
            var deadline = DateTime.UtcNow.AddSeconds(60);
            do
            {
                await Task.Delay(50);
                running = JsonDocument.Parse(await service.Client.GetStringAsync($"/v1/jobs/{id}")).RootElement;
                Assert.True(DateTime.UtcNow < deadline, $"job never trained: {running}");
            } while (running.GetProperty("epoch").GetInt32() < 1);
            worker = WorkerPid(running);
            // SIGKILL to the service alone: its worker is left without anyone watching its memory.
            using (var kill = Process.Start("kill", ["-KILL", service.ProcessId.ToString(CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
            await service.WaitForExitAsync(TimeSpan.FromSeconds(10));
        }
        for (var i = 0; i < 150 && IsRunning(worker); i++) await Task.Delay(100);
        Assert.False(IsRunning(worker), $"worker {worker} outlived its service by 15 s");
        using var store = new NeuralService.Api.Jobs.SqliteJobStore(Path.Combine(_dir.Path, "registry.db"));
        var job = store.Get(id)!;
        Assert.Equal(NeuralService.Api.Jobs.JobState.Queued, job.State);
        Assert.True(job.CheckpointEpoch >= 1, $"checkpoint after epoch {job.CheckpointEpoch}");
    }

    [Fact]
    public async Task AModelThatCanNeverFitIsRefusedAtSubmitQuicklyNamingTheFigure()
    {
        using var service = await ServiceProcess.StartAsync(Environment());
        var client = service.Client;
        await UploadBlobsAsync(client, "blobs", rows: 30);

        // Dense(50 000 000) after 4 inputs: 400 M parameters, sized from the layer shapes with nothing allocated.
        var wide = JsonDocument.Parse("""
            {"class_name": "Sequential", "config": {"name": "wide", "layers": [
              {"class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "in"}},
              {"class_name": "Dense", "config": {"name": "d1", "units": 50000000, "activation": "relu"}},
              {"class_name": "Dense", "config": {"name": "out", "units": 3, "activation": "softmax"}}]}}
            """).RootElement;
        var clock = Stopwatch.StartNew();
        var refused = await client.PostAsJsonAsync("/v1/jobs", Body(wide, epochs: 1));
        var took = clock.Elapsed;
        var detail = (await ProblemAssert.IsProblemAsync(refused, 400)).GetProperty("detail").GetString()!;
        Assert.Contains("the job needs an estimated ", detail);
        Assert.Contains("400000003 parameters", detail);
        Assert.Contains($"memory budget of a training job, {Budget} bytes", detail);
        Assert.True(took < TimeSpan.FromSeconds(3), $"the refusal took {took}");
        Assert.True(ProcessMemory.ResidentBytes(service.ProcessId) < 1L << 30);

        // Two of them: a 50 000 000 × 50 000 000 kernel no tensor can hold.
        var square = (await ProblemAssert.IsProblemAsync(await client.PostAsJsonAsync("/v1/jobs", Body(Mlp("50000000"), epochs: 1)), 400)).GetProperty("detail").GetString()!;
        Assert.Contains("more than one tensor can hold", square);

        // units 1e9 is not an integer count of units: a bad field, not a server error.
        var e9 = await ProblemAssert.IsProblemAsync(await client.PostAsJsonAsync("/v1/jobs", Body(Mlp("1e9"), epochs: 1)), 400);
        Assert.Contains("units", e9.GetProperty("detail").GetString());
        using var store = new NeuralService.Api.Jobs.SqliteJobStore(Path.Combine(_dir.Path, "registry.db"));
        Assert.Empty(store.List()); // nothing refused was stored
    }
}
