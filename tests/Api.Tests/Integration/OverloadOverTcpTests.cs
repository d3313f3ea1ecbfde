using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using NeuralService.Api.Tests.Support;
using NeuralService.Graph.Keras;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Integration;

/// <summary>429 problem details with Retry-After from each of the three limits a client can hit: the per-client rate
/// limiter, the training job queue and a model's batcher queue; overload never turns into a 5xx.</summary>
public sealed class OverloadOverTcpTests
{
    [Fact]
    public async Task TheRateLimiterAnswers429ProblemsWithRetryAfter()
    {
        using var s = new ServedModel(new Dictionary<string, string?> { ["Neural:RateLimit:PermitLimit"] = "20", ["Neural:RateLimit:WindowSeconds"] = "60" });
        var files = Directory.EnumerateFiles(Path.Combine(s.DataDirectory, "blobs")).ToList();
        var statuses = new List<HttpStatusCode>();
        HttpResponseMessage? refused = null;
        for (var i = 0; i < 30 && refused is null; i++)
        {
            var r = await s.Client.PostAsync("/v2/models/mlp/infer", TestModels.Json(s.InferJson([1, 2, 3, 4], 1)));
            statuses.Add(r.StatusCode);
            if (r.StatusCode == HttpStatusCode.TooManyRequests) refused = r;
        }
        Assert.NotNull(refused);
        Assert.All(statuses.SkipLast(1), c => Assert.Equal(HttpStatusCode.OK, c));
        await ProblemAssert.IsProblemAsync(refused, 429);
        Assert.True(int.Parse(refused.Headers.GetValues("Retry-After").Single(), System.Globalization.CultureInfo.InvariantCulture) >= 1);
        // Refused writes change nothing; health stays outside the limit.
        await ProblemAssert.IsProblemAsync(await s.Client.PostAsync("/v1/models/other/versions", TestModels.Octets(s.Onnx)), 429);
        Assert.Equal(files, Directory.EnumerateFiles(Path.Combine(s.DataDirectory, "blobs")));
        Assert.Equal(HttpStatusCode.OK, (await s.Client.GetAsync("/v2/health/ready")).StatusCode);
    }

    [Fact]
    public async Task AFullJobQueueAnswers429AndStoresNoJob()
    {
        using var s = new ServedModel(new Dictionary<string, string?> { ["Neural:Workers"] = "1", ["Neural:JobQueueCapacity"] = "1" });
        var running = (await SubmitAsync(s.Client, JobBody(ServedModel.Dataset, "long", epochs: 100_000))).GetProperty("id").GetString()!;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (JsonDocument.Parse(await s.Client.GetStringAsync($"/v1/jobs/{running}")).RootElement.GetProperty("state").GetString() != "running")
        {
            Assert.True(DateTime.UtcNow < deadline, "the first job never started");
            await Task.Delay(50);
        }
        var queued = (await SubmitAsync(s.Client, JobBody(ServedModel.Dataset, "waiting"))).GetProperty("id").GetString()!;

        var refused = await s.Client.PostAsJsonAsync("/v1/jobs", JobBody(ServedModel.Dataset, "refused"));
        await ProblemAssert.IsProblemAsync(refused, 429);
        Assert.True(refused.Headers.Contains("Retry-After"));
        var jobs = JsonDocument.Parse(await s.Client.GetStringAsync("/v1/jobs")).RootElement.GetProperty("jobs").EnumerateArray().Select(j => j.GetProperty("id").GetString()).Order().ToList();
        Assert.Equal(new[] { running, queued }.Order(), jobs);

        foreach (var id in new[] { queued, running }) Assert.Equal(HttpStatusCode.Accepted, (await s.Client.PostAsync($"/v1/jobs/{id}/cancel", null)).StatusCode);
        Assert.Equal("canceled", (await WaitAsync(s.Client, running)).GetProperty("state").GetString());
    }

    /// <summary>Keras 3 Sequential: 256 inputs → three Dense(512): slow enough per run that a burst queues up.</summary>
    private const string HeavyJson = """
        {"module": "keras", "class_name": "Sequential", "config": {"name": "heavy", "layers": [
          {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 256], "dtype": "float32", "name": "input_layer"}},
          {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d1", "units": 512, "activation": "relu"}},
          {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d2", "units": 512, "activation": "relu"}},
          {"module": "keras.layers", "class_name": "Dense", "config": {"name": "d3", "units": 512}}
        ]}}
        """;

    [Fact]
    public async Task AFullBatcherQueueAnswers429AndEveryOtherRequestIsServed()
    {
        using var s = new ServedModel(new Dictionary<string, string?> { ["Neural:Batcher:QueueCapacity"] = "1", ["Neural:Batcher:MaxBatchSize"] = "1" });
        var onnx = KerasModelJson.Read(HeavyJson).ToOnnx().ToByteArray();
        Assert.Equal(HttpStatusCode.Created, (await s.Client.PostAsync("/v1/models/heavy/versions", TestModels.Octets(onnx))).StatusCode);
        var input = TestModels.InputName(onnx);
        const int rows = 256;
        var raw = MemoryMarshal.AsBytes(TestModels.Inputs(rows, 256).AsSpan()).ToArray();
        var header = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            inputs = new[] { new { name = input, shape = new[] { rows, 256 }, datatype = "FP32", parameters = new { binary_data_size = raw.Length } } },
            parameters = new { binary_data_output = true },
        }));
        HttpContent Body()
        {
            var c = TestModels.Octets([.. header, .. raw]);
            c.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return c;
        }
        Assert.Equal(HttpStatusCode.OK, (await s.Client.PostAsync("/v2/models/heavy/infer", Body())).StatusCode); // loaded and warm

        var clients = Enumerable.Range(0, 32).Select(_ => s.Api.NewClient()).ToList();
        try
        {
            HttpResponseMessage? refused = null;
            var served = 0;
            for (var round = 0; round < 5 && refused is null; round++)
            {
                var responses = await Task.WhenAll(clients.Select(c => c.PostAsync("/v2/models/heavy/infer", Body())));
                Assert.All(responses, r => Assert.True(r.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"{(int)r.StatusCode}"));
                served += responses.Count(r => r.StatusCode == HttpStatusCode.OK);
                refused = responses.FirstOrDefault(r => r.StatusCode == HttpStatusCode.TooManyRequests);
            }
            Assert.NotNull(refused);
            Assert.True(served > 0);
            var problem = await ProblemAssert.IsProblemAsync(refused, 429);
            Assert.Contains("retry later", problem.GetProperty("detail").GetString());
            Assert.True(refused.Headers.Contains("Retry-After"));
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }
}
