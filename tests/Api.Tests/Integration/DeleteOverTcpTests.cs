using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NeuralService.Api.Jobs;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Integration;

/// <summary>DELETE of jobs and datasets: an ended job goes with its checkpoint; a queued or running one is a 409 that
/// points at cancel; a dataset a queued or running job uses is a 409 naming the job. Workers here only look for work
/// when a job is submitted through the API, so jobs put straight into the store stay as they were put.</summary>
public sealed class DeleteOverTcpTests : IDisposable
{
    private readonly ServedModel _s = new(new Dictionary<string, string?> { ["Jobs:PollSeconds"] = "60" });

    public void Dispose() => _s.Dispose();

    private JobStore Store => _s.Api.Services.GetRequiredService<JobStore>();

    private Job Put(string id, JobState state, string dataset = ServedModel.Dataset)
    {
        var job = new Job(id, state, new JobRequest(null, null, dataset, null, null, null, "x"), DateTimeOffset.UtcNow,
            FinishedAt: state == JobState.Queued ? null : DateTimeOffset.UtcNow);
        Store.Insert(job);
        return job;
    }

    private string Checkpoint(string id)
    {
        var dir = Path.Combine(_s.DataDirectory, "jobs", id);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "epoch-1.ckpt"), "weights");
        return dir;
    }

    [Fact]
    public async Task AnEndedJobIsDeletedWithItsCheckpoint()
    {
        foreach (var state in new[] { JobState.Succeeded, JobState.Failed, JobState.Canceled, JobState.Interrupted })
        {
            var id = "job-00000000000000e" + (int)state;
            Put(id, state);
            var checkpoint = Checkpoint(id);
            Assert.Equal(HttpStatusCode.NoContent, (await _s.Client.DeleteAsync($"/v1/jobs/{id}")).StatusCode);
            await ProblemAssert.IsProblemAsync(await _s.Client.GetAsync($"/v1/jobs/{id}"), 404);
            Assert.False(Directory.Exists(checkpoint));
            await ProblemAssert.IsProblemAsync(await _s.Client.DeleteAsync($"/v1/jobs/{id}"), 404);
        }
        var list = JsonDocument.Parse(await _s.Client.GetStringAsync("/v1/jobs")).RootElement.GetProperty("jobs");
        Assert.Equal(0, list.GetArrayLength());
        // The registered model a job produced is the registry's, not the job's: it stays.
        Assert.Equal(HttpStatusCode.OK, (await _s.Client.GetAsync($"/v1/models/{ServedModel.Model}")).StatusCode);
    }

    [Fact]
    public async Task AQueuedOrRunningJobIsAConflictPointingAtCancel()
    {
        Put("job-0000000000000q01", JobState.Queued);
        var checkpoint = Checkpoint("job-0000000000000q01");
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.DeleteAsync("/v1/jobs/job-0000000000000q01"), 409);
        Assert.Contains("queued", problem.GetProperty("detail").GetString());
        Assert.Contains("POST /v1/jobs/job-0000000000000q01/cancel", problem.GetProperty("detail").GetString());
        Assert.True(Directory.Exists(checkpoint));

        // Running under another replica (fresh lease): refused the same way.
        Put("job-0000000000000r01", JobState.Queued);
        Assert.NotNull(Store.Claim("replica-elsewhere", "job-0000000000000r01"));
        problem = await ProblemAssert.IsProblemAsync(await _s.Client.DeleteAsync("/v1/jobs/job-0000000000000r01"), 409);
        Assert.Contains("running", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await _s.Client.GetAsync("/v1/jobs/job-0000000000000r01")).StatusCode);

        // Canceled, the queued one can go.
        Assert.Equal(HttpStatusCode.Accepted, (await _s.Client.PostAsync("/v1/jobs/job-0000000000000q01/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _s.Client.DeleteAsync("/v1/jobs/job-0000000000000q01")).StatusCode);
        Assert.False(Directory.Exists(checkpoint));
    }

    [Fact]
    public async Task ADatasetInUseByAQueuedJobIsAConflictUntilTheJobEnds()
    {
        var id = JsonDocument.Parse(await _s.Client.GetStringAsync($"/v1/datasets/{ServedModel.Dataset}")).RootElement.GetProperty("id").GetString()!;
        Put("job-0000000000000d01", JobState.Queued, ServedModel.Dataset); // by name
        Put("job-0000000000000d02", JobState.Queued, id); // by id
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.DeleteAsync($"/v1/datasets/{id}"), 409);
        Assert.Contains("job-0000000000000d01", problem.GetProperty("detail").GetString());
        Assert.Contains("job-0000000000000d02", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.OK, (await _s.Client.GetAsync($"/v1/datasets/{id}")).StatusCode);

        foreach (var job in new[] { "job-0000000000000d01", "job-0000000000000d02" })
            Assert.Equal(HttpStatusCode.Accepted, (await _s.Client.PostAsync($"/v1/jobs/{job}/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _s.Client.DeleteAsync($"/v1/datasets/{id}")).StatusCode);
        await ProblemAssert.IsProblemAsync(await _s.Client.GetAsync($"/v1/datasets/{id}"), 404);
        Assert.False(Directory.Exists(Path.Combine(_s.DataDirectory, "datasets", id)));
    }

    [Fact]
    public async Task AJobOnAnotherDatasetDoesNotHoldThisOne()
    {
        var other = await _s.Client.PostAsync("/v1/datasets", TestModels.CsvUpload(TestModels.BlobsCsv(9), "other"));
        var otherId = JsonDocument.Parse(await other.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        Put("job-0000000000000o01", JobState.Queued, ServedModel.Dataset);
        Assert.Equal(HttpStatusCode.NoContent, (await _s.Client.DeleteAsync($"/v1/datasets/{otherId}")).StatusCode);
    }
}
