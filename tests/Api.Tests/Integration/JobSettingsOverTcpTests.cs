using System.Net;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using NeuralService.Api.Jobs;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Job settings that cannot train (non-finite or absurd numbers) over TCP: refused at submit with the field
/// named and never stored; a job that diverges anyway fails instead of registering a NaN model; one unreadable stored
/// job does not break the listing for everyone.</summary>
public sealed class JobSettingsOverTcpTests : IDisposable
{
    private readonly ServedModel _s = new(new Dictionary<string, string?> { ["Neural:Workers"] = "1", ["Jobs:PollSeconds"] = "0.2" });

    public void Dispose() => _s.Dispose();

    [Theory]
    [InlineData("fit", """{"epochs": 1, "validation_split": "NaN"}""", "validation_split")]
    [InlineData("fit", """{"epochs": 1, "validation_split": "-Infinity"}""", "validation_split")]
    [InlineData("rescale", "\"NaN\"", "rescale")]
    [InlineData("rescale", "\"Infinity\"", "rescale")]
    [InlineData("rescale", "1e300", "rescale")]
    [InlineData("rescale", "0", "rescale")]
    [InlineData("compile", """{"optimizer": "sgd", "learning_rate": 1.7e308}""", "learning_rate")] // finite, just below double.MaxValue
    [InlineData("compile", """{"optimizer": "adam", "learning_rate": 1e6}""", "learning_rate")]
    public async Task NonFiniteOrAbsurdSettingsAreRefusedAndNeverStored(string field, string value, string named)
    {
        var body = $$"""{"model": {{TestModels.DenseJson}}, "dataset": "{{ServedModel.Dataset}}", "register_as": "refused", "device": "cpu", "{{field}}": {{value}}}""";
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync("/v1/jobs", TestModels.Json(body)), 400);
        Assert.Contains(named, problem.GetProperty("detail").GetString());

        var list = await _s.Client.GetAsync("/v1/jobs");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Empty(JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.GetProperty("jobs").EnumerateArray());
        await Task.Delay(300); // a stored job would be claimed and register within this
        Assert.Equal(HttpStatusCode.NotFound, (await _s.Client.GetAsync("/v1/models/refused")).StatusCode);
    }

    /// <summary>Linear regression: 4 features → Dense(1).</summary>
    private const string LinearJson = """
        {"module": "keras", "class_name": "Sequential", "config": {"name": "linear", "layers": [
          {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "input_layer"}},
          {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 1}}
        ]}}
        """;

    [Fact]
    public async Task AJobWhoseLossOverflowsFailsWithTheReasonAndRegistersNothing()
    {
        var form = new MultipartFormDataContent
        {
            { new StringContent(TestModels.BlobsCsv(32)), "file", "regression.csv" },
            { new StringContent("regression"), "name" },
            { new StringContent("float32"), "label_type" },
        };
        Assert.Equal(HttpStatusCode.Created, (await _s.Client.PostAsync("/v1/datasets", form)).StatusCode);
        // Features a million times larger and plain SGD at the largest rate allowed: each squared-error step multiplies
        // the weights by ~1e13 until float32 overflows within the first epoch.
        var body = $$$"""
            {"model": {{{LinearJson}}}, "dataset": "regression", "register_as": "diverged", "device": "cpu",
             "rescale": 1e6, "compile": {"optimizer": "sgd", "learning_rate": 10, "loss": "mean_squared_error"}, "fit": {"epochs": 3, "batch_size": 4}}
            """;
        var r = await _s.Client.PostAsync("/v1/jobs", TestModels.Json(body));
        Assert.True(r.StatusCode == HttpStatusCode.Accepted, await r.Content.ReadAsStringAsync());
        var id = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var job = await WaitAsync(_s.Client, id);
        Assert.Equal("failed", job.GetProperty("state").GetString());
        Assert.Contains("diverged", job.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _s.Client.GetAsync("/v1/models/diverged")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _s.Client.GetAsync("/v1/jobs")).StatusCode);
    }

    [Fact]
    public async Task AQueuedJobStoredWithANaNSettingFailsWithTheReasonAndListsFine()
    {
        // As an earlier version stored it: NaN validation split, queued.
        var request = new JobRequest(JsonDocument.Parse(TestModels.DenseJson).RootElement, null, ServedModel.Dataset, new CompileOptions(),
            new FitSettings(1, 16, double.NaN), "cpu", "stored-nan");
        using (var store = new SqliteJobStore(Path.Combine(_s.DataDirectory, "registry.db")))
            store.Insert(new Job("job-00000000000000aa", JobState.Queued, request, DateTimeOffset.UtcNow));

        var list = await _s.Client.GetAsync("/v1/jobs");
        Assert.True(list.StatusCode == HttpStatusCode.OK, await list.Content.ReadAsStringAsync());
        var job = await WaitAsync(_s.Client, "job-00000000000000aa");
        Assert.Equal("failed", job.GetProperty("state").GetString());
        Assert.Contains("validation_split", job.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await _s.Client.GetAsync("/v1/models/stored-nan")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _s.Client.GetAsync("/v1/jobs")).StatusCode);
    }

    [Fact]
    public async Task AnUnreadableStoredJobDoesNotBreakTheListing()
    {
        var good = await SubmitAsync(_s.Client, JobBody(ServedModel.Dataset, "listed", epochs: 1));
        await WaitAsync(_s.Client, good.GetProperty("id").GetString()!);
        using (var c = new SqliteConnection($"Data Source={Path.Combine(_s.DataDirectory, "registry.db")};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "INSERT INTO api_jobs (id, created_at, state, body) VALUES ('job-0000000000000bad', '2020-01-01T00:00:00.0000000Z', 'Succeeded', '{\"id\": \"job-0000000000000bad\", \"request\": ')";
            cmd.ExecuteNonQuery();
        }
        var list = await _s.Client.GetAsync("/v1/jobs");
        var text = await list.Content.ReadAsStringAsync();
        Assert.True(list.StatusCode == HttpStatusCode.OK, text);
        var ids = JsonDocument.Parse(text).RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetString()).ToList();
        Assert.Equal([good.GetProperty("id").GetString()], ids);
        // The bad row itself is a server-side fault, not the client's "malformed JSON".
        await ProblemAssert.IsProblemAsync(await _s.Client.GetAsync("/v1/jobs/job-0000000000000bad"), 500);
    }
}
