using System.Net;
using System.Text.Json;
using Google.Protobuf;
using NeuralService.Api.Tests.Integration;
using NeuralService.Api.Tests.Support;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Jobs;

/// <summary><c>base_model</c> fine-tunes a registered version from its stored weights, with frozen layers kept as stored.</summary>
public sealed class FineTuneTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<List<ServerSentEvent>> EventsAsync(HttpClient client, string id) =>
        await ServerSentEvents.ReadAllAsync(client, $"/v1/jobs/{id}/events", TimeSpan.FromSeconds(90));

    private static double FirstBatchLoss(List<ServerSentEvent> events) =>
        events.First(e => e.Type == "batch").Data.GetProperty("metrics").GetProperty("loss").GetDouble();

    private static async Task<Dictionary<string, float[]>> WeightsAsync(HttpClient client, string model, int version)
    {
        var onnx = OnnxModels.Parse(await client.GetByteArrayAsync($"/v1/models/{model}/versions/{version}/onnx"));
        return onnx.Graph.Initializer.ToDictionary(t => t.Name, Tensors.ToFloats);
    }

    [Fact]
    public async Task AFineTuneStartsFromTheStoredWeightsAndKeepsFrozenLayersAsStored()
    {
        using var app = new ApiFactory(_dir.Path);
        var client = app.CreateClient();
        await UploadBlobsAsync(client, "blobs");
        var baseBody = new
        {
            model = JsonDocument.Parse(TestModels.DenseJson).RootElement, dataset = "blobs",
            compile = new { optimizer = "adam", learning_rate = 0.02, metrics = new[] { "accuracy" } },
            fit = new { epochs = 8, batch_size = 16 }, device = "cpu", register_as = "base",
        };
        var baseId = (await SubmitAsync(client, baseBody)).GetProperty("id").GetString()!;
        var baseEvents = await EventsAsync(client, baseId);
        Assert.Equal("succeeded", baseEvents[^1].State());
        var baseJob = await WaitAsync(client, baseId);
        var trainedLoss = baseJob.GetProperty("history")[7].GetProperty("metrics").GetProperty("loss").GetDouble();
        var scratchLoss = FirstBatchLoss(baseEvents);
        Assert.True(trainedLoss < scratchLoss / 3, $"the base model did not learn: {scratchLoss} → {trainedLoss}");

        // The version given by alias is pinned at submit.
        Assert.Equal(HttpStatusCode.OK, (await client.PutAsync("/v1/models/base/aliases/production", TestModels.Json("""{"version": 1}"""))).StatusCode);
        var tune = await SubmitAsync(client, new
        {
            base_model = new { name = "base", version = "production", freeze = new[] { "dense" } }, dataset = "blobs",
            compile = new { optimizer = "adam", learning_rate = 0.02 }, fit = new { epochs = 1, batch_size = 16 }, device = "cpu", register_as = "base",
        });
        Assert.Equal("1", tune.GetProperty("request").GetProperty("base_model").GetProperty("version").GetString());
        var tuneId = tune.GetProperty("id").GetString()!;
        var tuneEvents = await EventsAsync(client, tuneId);
        Assert.True(tuneEvents[^1].State() == "succeeded", tuneEvents[^1].Data.ToString());

        // Its very first batch is scored by the stored weights: near the trained loss, nowhere near a fresh start.
        var firstLoss = FirstBatchLoss(tuneEvents);
        Assert.True(firstLoss < trainedLoss * 2 + 0.05, $"fine-tune's first batch loss {firstLoss}, base trained to {trainedLoss}");
        Assert.True(firstLoss < scratchLoss / 3, $"fine-tune's first batch loss {firstLoss} looks like a fresh start ({scratchLoss})");
        var tuned = await WaitAsync(client, tuneId);
        Assert.Equal(2, tuned.GetProperty("registered_version").GetInt32());
        var version = JsonDocument.Parse(await client.GetStringAsync("/v1/models/base/versions/2")).RootElement;
        Assert.Equal("base", version.GetProperty("lineage").GetProperty("hyperparameters").GetProperty("base_model").GetProperty("name").GetString());
        // Freezing was this job's choice: the registered config leaves the layer trainable for the next fine-tune.
        Assert.True(LayerTrainable(version, "dense"));

        // The frozen layer is bit for bit what was stored; the other one trained on.
        var before = await WeightsAsync(client, "base", 1);
        var after = await WeightsAsync(client, "base", 2);
        Assert.Equal(before["dense/kernel"], after["dense/kernel"]);
        Assert.Equal(before["dense/bias"], after["dense/bias"]);
        Assert.NotEqual(before["dense_1/kernel"], after["dense_1/kernel"]);
    }

    private static bool LayerTrainable(JsonElement version, string layer)
    {
        var config = JsonDocument.Parse(version.GetProperty("metadata").GetProperty("keras_config").GetString()!).RootElement;
        var found = config.GetProperty("config").GetProperty("layers").EnumerateArray().Single(l => l.GetProperty("config").GetProperty("name").GetString() == layer);
        return !found.GetProperty("config").TryGetProperty("trainable", out var t) || t.GetBoolean();
    }

    [Fact]
    public async Task ALayerItsConfigFreezesStaysAsStored()
    {
        using var app = new ApiFactory(_dir.Path);
        var client = app.CreateClient();
        await UploadBlobsAsync(client, "blobs", rows: 30);
        var config = TestModels.DenseJson.Replace("\"name\": \"dense_1\",", "\"name\": \"dense_1\", \"trainable\": false,", StringComparison.Ordinal);
        Assert.NotEqual(TestModels.DenseJson, config);
        var onnx = KerasModelJson.Read(config).ToOnnx();
        onnx.MetadataProps.Add(new Onnx.StringStringEntryProto { Key = "keras_config", Value = config });
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/v1/models/head/versions", TestModels.Octets(onnx.ToByteArray()))).StatusCode);

        var id = (await SubmitAsync(client, new
        {
            base_model = new { name = "head" }, dataset = "blobs", compile = new { optimizer = "adam", learning_rate = 0.05 },
            fit = new { epochs = 2, batch_size = 8 }, device = "cpu", register_as = "head",
        })).GetProperty("id").GetString()!;
        var job = await WaitAsync(client, id);
        Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
        var before = await WeightsAsync(client, "head", 1);
        var after = await WeightsAsync(client, "head", 2);
        Assert.Equal(before["dense_1/kernel"], after["dense_1/kernel"]);
        Assert.NotEqual(before["dense/kernel"], after["dense/kernel"]);
        Assert.False(LayerTrainable(JsonDocument.Parse(await client.GetStringAsync("/v1/models/head/versions/2")).RootElement, "dense_1"));
    }

    [Fact]
    public async Task WeightsThatDoNotFitTheConfigAndUnknownFrozenLayersAreRefusedAtSubmit()
    {
        using var app = new ApiFactory(_dir.Path);
        var client = app.CreateClient();
        await UploadBlobsAsync(client, "blobs", rows: 30);

        // An ONNX file whose first layer has 5 units, registered with the config of the 8-unit model.
        var wider = KerasModelJson.Read(TestModels.DenseJson.Replace("\"units\": 8", "\"units\": 5", StringComparison.Ordinal)).ToOnnx();
        wider.MetadataProps.Add(new Onnx.StringStringEntryProto { Key = "keras_config", Value = TestModels.DenseJson });
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/v1/models/odd/versions", TestModels.Octets(wider.ToByteArray()))).StatusCode);
        var refused = await ProblemAssert.IsProblemAsync(await client.PostAsync("/v1/jobs", TestModels.Json(
            """{"base_model": {"name": "odd"}, "dataset": "blobs", "register_as": "x", "device": "cpu"}""")), 422);
        Assert.Contains("weight dense/kernel is [4,8] in its keras_config but [4,5] in its ONNX file", refused.GetProperty("detail").GetString());

        var good = KerasModelJson.Read(TestModels.DenseJson).ToOnnx();
        good.MetadataProps.Add(new Onnx.StringStringEntryProto { Key = "keras_config", Value = TestModels.DenseJson });
        Assert.Equal(HttpStatusCode.Created, (await client.PostAsync("/v1/models/good/versions", TestModels.Octets(good.ToByteArray()))).StatusCode);
        var unknown = await ProblemAssert.IsProblemAsync(await client.PostAsync("/v1/jobs", TestModels.Json(
            """{"base_model": {"name": "good", "freeze": ["dense_9"]}, "dataset": "blobs", "register_as": "x", "device": "cpu"}""")), 400);
        Assert.Contains("no layer 'dense_9'; its layers are input_layer, dense, dense_1", unknown.GetProperty("detail").GetString());

        var both = await ProblemAssert.IsProblemAsync(await client.PostAsync("/v1/jobs", TestModels.Json(
            $$"""{"model": {{TestModels.DenseJson}}, "base_model": {"name": "good"}, "dataset": "blobs", "register_as": "x"}""")), 400);
        Assert.Contains("not both", both.GetProperty("detail").GetString());
    }
}
