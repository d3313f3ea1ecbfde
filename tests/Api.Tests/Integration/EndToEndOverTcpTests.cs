using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NeuralService.Api.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Upload → train (followed as Server-Sent Events) → registered → alias → KServe JSON, KServe binary and
/// :predict over TCP, each equal to the same ONNX run in-process.</summary>
public sealed class EndToEndOverTcpTests : IDisposable
{
    private const int Epochs = 3;
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task TrainFollowPromoteAndServeMatchTheInProcessPrediction()
    {
        // In-process until batch/epoch events reach SSE through the job store from a job's own process.
        using var api = new KestrelApi(_dir.Path, new Dictionary<string, string?> { ["Neural:Workers"] = "1" });
        using var client = api.NewClient();
        await UploadBlobsAsync(client, "blobs-e2e");
        var job = await SubmitAsync(client, JobBody("blobs-e2e", "e2e", epochs: Epochs));
        var id = job.GetProperty("id").GetString()!;

        var events = await ServerSentEvents.ReadAllAsync(client, $"/v1/jobs/{id}/events", TimeSpan.FromSeconds(60));
        AssertEventOrder(events, id);

        var final = JsonDocument.Parse(await client.GetStringAsync($"/v1/jobs/{id}")).RootElement;
        Assert.Equal("succeeded", final.GetProperty("state").GetString());
        Assert.Equal("e2e", final.GetProperty("registered_model").GetString());
        var version = final.GetProperty("registered_version").GetInt32();

        var promoted = await client.PutAsJsonAsync("/v1/models/e2e/aliases/production", new { version });
        Assert.Equal(HttpStatusCode.OK, promoted.StatusCode);
        Assert.Equal(version, JsonDocument.Parse(await promoted.Content.ReadAsStringAsync()).RootElement.GetProperty("version").GetInt32());

        var described = JsonDocument.Parse(await client.GetStringAsync("/v1/models/e2e/versions/production")).RootElement;
        var onnx = await client.GetByteArrayAsync($"/v1/models/e2e/versions/{version}/onnx");
        Assert.Equal(described.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(onnx)));
        var inputName = described.GetProperty("inputs")[0].GetProperty("name").GetString()!;
        var outputName = described.GetProperty("outputs")[0].GetProperty("name").GetString()!;

        const int rows = 5;
        var x = TestModels.Inputs(rows, 4);
        var expected = await InProcessReference.PredictAsync(onnx, x, rows, 4);
        Assert.Equal(rows * 3, expected.Length);

        // KServe v2 JSON tensors, by alias.
        var json = await client.PostAsync("/v2/models/e2e/versions/production/infer", TestModels.Json(JsonSerializer.Serialize(new
        {
            id = "e2e-json",
            inputs = new[] { new { name = inputName, shape = new[] { rows, 4 }, datatype = "FP32", data = x } },
        })));
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        var jsonBody = JsonDocument.Parse(await json.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(version.ToString(System.Globalization.CultureInfo.InvariantCulture), jsonBody.GetProperty("model_version").GetString());
        var jsonOut = jsonBody.GetProperty("outputs")[0];
        Assert.Equal([(long)rows, 3L], jsonOut.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        AssertClose(expected, jsonOut.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray());

        // KServe v2 binary tensor extension: raw FP32 in, binary output asked for with parameters.binary_data.
        var raw = MemoryMarshal.AsBytes(x.AsSpan()).ToArray();
        var header = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            inputs = new[] { new { name = inputName, shape = new[] { rows, 4 }, datatype = "FP32", parameters = new { binary_data_size = raw.Length } } },
            outputs = new[] { new { name = outputName, parameters = new { binary_data = true } } },
        }));
        var content = TestModels.Octets([.. header, .. raw]);
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var binary = await client.PostAsync("/v2/models/e2e/versions/production/infer", content);
        Assert.Equal(HttpStatusCode.OK, binary.StatusCode);
        Assert.Equal("application/octet-stream", binary.Content.Headers.ContentType?.MediaType);
        var jsonLength = int.Parse(binary.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var bytes = await binary.Content.ReadAsByteArrayAsync();
        var binOut = JsonDocument.Parse(bytes.AsMemory(0, jsonLength)).RootElement.GetProperty("outputs")[0];
        Assert.Equal(expected.Length * sizeof(float), binOut.GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.False(binOut.TryGetProperty("data", out _));
        Assert.Equal(expected.Length * sizeof(float), bytes.Length - jsonLength);
        AssertClose(expected, MemoryMarshal.Cast<byte, float>(bytes.AsSpan(jsonLength)).ToArray());

        // TensorFlow-Serving style instances.
        var predict = await client.PostAsync("/v1/models/e2e:predict", TestModels.Json(JsonSerializer.Serialize(new { instances = x.Chunk(4) })));
        Assert.Equal(HttpStatusCode.OK, predict.StatusCode);
        var predictions = JsonDocument.Parse(await predict.Content.ReadAsStringAsync()).RootElement.GetProperty("predictions");
        Assert.Equal(rows, predictions.GetArrayLength());
        AssertClose(expected, predictions.EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetSingle())).ToArray());
    }

    /// <summary>queued/running … epoch 1 … epoch N … succeeded, each epoch's batches before its epoch event.</summary>
    private static void AssertEventOrder(List<ServerSentEvent> events, string id)
    {
        Assert.NotEmpty(events);
        Assert.Equal("state", events[0].Type);
        Assert.Contains(events[0].State(), new[] { "queued", "running" });
        Assert.Equal("succeeded", events[^1].State());
        Assert.Equal(1, events.Count(e => e.State() is "succeeded" or "failed" or "canceled" or "interrupted"));

        var rank = new Dictionary<string, int> { ["queued"] = 0, ["running"] = 1, ["succeeded"] = 2 };
        var states = events.Where(e => e.Type == "state").Select(e => rank[e.State()!]).ToList();
        Assert.Equal(states.Order(), states);
        Assert.Contains(1, states);

        var epochEvents = events.Where(e => e.Type == "epoch").ToList();
        Assert.Equal(Enumerable.Range(1, Epochs), epochEvents.Select(e => e.Data.GetProperty("epoch").GetInt32()));
        Assert.All(epochEvents, e => Assert.Equal(id, e.Data.GetProperty("job_id").GetString()));
        Assert.All(epochEvents, e => Assert.True(e.Data.GetProperty("metrics").GetProperty("loss").GetDouble() > 0));

        // Ids increase by one from the first event (nothing is thinned in epochs this short).
        Assert.Equal(Enumerable.Range(1, events.Count).Select(i => (long)i), events.Select(e => e.IdNumber));

        var epochSeen = 0;
        var lastBatchEpoch = 0;
        foreach (var e in events)
        {
            switch (e.Type)
            {
                case "batch":
                    var epoch = e.Data.GetProperty("epoch").GetInt32();
                    Assert.Equal(epochSeen + 1, epoch); // a batch belongs to the epoch not yet reported
                    Assert.True(epoch >= lastBatchEpoch);
                    lastBatchEpoch = epoch;
                    Assert.InRange(e.Data.GetProperty("batch").GetInt32(), 1, e.Data.GetProperty("batches").GetInt32());
                    break;
                case "epoch":
                    var n = e.Data.GetProperty("epoch").GetInt32();
                    Assert.Equal(epochSeen + 1, n);
                    epochSeen = n;
                    break;
                case "state" when e.State() == "succeeded":
                    Assert.Equal(Epochs, epochSeen);
                    break;
            }
        }
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5, $"value {i}: expected {expected[i]}, got {actual[i]}");
    }
}
