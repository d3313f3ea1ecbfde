using System.Net;
using Microsoft.Extensions.DependencyInjection;
using NeuralService.Api.Jobs;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Hosting;

/// <summary>What a crash leaves in the data directory (a dataset folder without its dataset.json, ASP.NET temp files,
/// checkpoints of jobs that ended long ago or are gone) is removed when a real server starts; recent leftovers (an
/// upload another replica is still writing, a checkpoint within its retention) and good data stay.</summary>
public sealed class StartupCleanupTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private string At(params string[] parts) => Path.Combine([_dir.Path, .. parts]);

    private static Job Ended(string id, JobState state, DateTimeOffset finished) =>
        new(id, state, new JobRequest(null, null, "good", null, null, null, "x"), finished.AddMinutes(-5), FinishedAt: finished);

    /// <summary>A folder with one file, both last written at <paramref name="when"/>.</summary>
    private void Leftover(string dir, string file, DateTime when)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, file), "partial");
        File.SetLastWriteTimeUtc(Path.Combine(dir, file), when);
        Directory.SetLastWriteTimeUtc(dir, when);
    }

    [Fact]
    public async Task ARealServerBuffersLargeUploadsUnderTheDataDirectory()
    {
        using var service = await ServiceProcess.StartAsync(new Dictionary<string, string> { ["NEURAL_DATA_DIR"] = _dir.Path, ["Neural__UseCuda"] = "false" });
        // Well over ASP.NET's 64 KiB in-memory threshold, so the file part is buffered on disk while it arrives.
        var form = TestModels.CsvUpload(TestModels.BlobsCsv(15_000), "big");
        var bytes = await form.ReadAsByteArrayAsync();
        var release = new TaskCompletionSource();
        var halfSent = new TaskCompletionSource();
        var content = new HalfThenRestContent(bytes, release.Task, halfSent);
        content.Headers.ContentType = form.Headers.ContentType;
        var upload = service.Client.PostAsync("/v1/datasets", content);
        await halfSent.Task.WaitAsync(TimeSpan.FromSeconds(30));

        string[] Buffers() => Directory.Exists(At("tmp", "aspnet")) ? Directory.GetFiles(At("tmp", "aspnet")) : [];
        for (var i = 0; i < 100 && Buffers().Length == 0; i++) await Task.Delay(100);
        Assert.Single(Buffers());
        release.SetResult();
        Assert.Equal(HttpStatusCode.Created, (await upload.WaitAsync(TimeSpan.FromSeconds(60))).StatusCode);
        // ASP.NET removes the buffer when the request is disposed, which can come just after the answer is sent.
        for (var i = 0; i < 100 && Buffers().Length > 0; i++) await Task.Delay(50);
        Assert.Empty(Buffers());
    }

    [Fact]
    public async Task ARealServerRemovesCrashLeftoversAtStartAndKeepsGoodData()
    {
        string good;
        var now = DateTimeOffset.UtcNow;
        using (var app = new ApiFactory(_dir.Path))
        {
            var client = app.CreateClient();
            var r = await client.PostAsync("/v1/datasets", TestModels.CsvUpload(TestModels.BlobsCsv(12), "good"));
            Assert.Equal(HttpStatusCode.Created, r.StatusCode);
            good = System.Text.Json.JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
            var store = app.Services.GetRequiredService<JobStore>();
            store.Insert(Ended("job-00000000000000a1", JobState.Succeeded, now.AddHours(-48)));
            store.Insert(Ended("job-00000000000000a2", JobState.Interrupted, now.AddHours(-30)));
            store.Insert(Ended("job-00000000000000a3", JobState.Failed, now.AddHours(-1)));
        }
        var old = DateTime.UtcNow.AddHours(-2);
        var older = DateTime.UtcNow.AddDays(-3);
        Leftover(At("datasets", "ds-00000000dead"), "features.csv", old);
        Leftover(At("datasets", "ds-00000000beef"), "features.csv", DateTime.UtcNow); // still being written elsewhere
        Leftover(At("tmp", "aspnet"), "ASPNETCORE_0b2e6a5c-7d4c-4ad2-a4b5-0e9f0bb7b8aa.tmp", old);
        Leftover(At("tmp", "aspnet"), "ASPNETCORE_5d6e7f80-0000-4000-8000-000000000001.tmp", DateTime.UtcNow); // a live upload's
        foreach (var id in new[] { "job-00000000000000a1", "job-00000000000000a2", "job-00000000000000a3" }) Leftover(At("jobs", id), "epoch-1.ckpt", older);
        Leftover(At("jobs", "job-00000000000000ff"), "epoch-2.ckpt", older); // no such job any more

        using var service = await ServiceProcess.StartAsync(new Dictionary<string, string> { ["NEURAL_DATA_DIR"] = _dir.Path, ["Neural__UseCuda"] = "false" });

        Assert.False(Directory.Exists(At("datasets", "ds-00000000dead")), service.Output);
        Assert.False(File.Exists(At("tmp", "aspnet", "ASPNETCORE_0b2e6a5c-7d4c-4ad2-a4b5-0e9f0bb7b8aa.tmp")));
        Assert.True(File.Exists(At("tmp", "aspnet", "ASPNETCORE_5d6e7f80-0000-4000-8000-000000000001.tmp")));
        Assert.False(Directory.Exists(At("jobs", "job-00000000000000a1")));
        Assert.False(Directory.Exists(At("jobs", "job-00000000000000a2")));
        Assert.False(Directory.Exists(At("jobs", "job-00000000000000ff")));
        Assert.True(Directory.Exists(At("datasets", "ds-00000000beef")));
        Assert.True(File.Exists(At("jobs", "job-00000000000000a3", "epoch-1.ckpt")));
        // The good dataset and the jobs' records are untouched and served.
        Assert.True(File.Exists(At("datasets", good, "dataset.json")));
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync($"/v1/datasets/{good}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await service.Client.GetAsync("/v1/jobs/job-00000000000000a1")).StatusCode);
        // Where ASP.NET buffers uploads from now on: under the data directory, where the next start finds what a crash leaves.
        Assert.Contains($"large uploads are buffered in {At("tmp", "aspnet")}", service.Output);
        foreach (var removed in new[] { "datasets/ds-00000000dead", "jobs/job-00000000000000a1", "jobs/job-00000000000000a2", "jobs/job-00000000000000ff", "tmp/aspnet/ASPNETCORE_0b2e6a5c" })
            Assert.True(service.Output.Contains($"start-up cleanup: removed {removed}", StringComparison.Ordinal), service.Output);
    }
}
