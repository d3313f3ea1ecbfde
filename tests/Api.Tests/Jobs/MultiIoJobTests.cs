using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NeuralService.Api.Tests.Support;
using NeuralService.Training.Data;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Jobs;

/// <summary>Training jobs on NPZ datasets with several feature or target arrays, for the seed's two-input and
/// two-output models, with Keras's per-output compile arguments.</summary>
public sealed class MultiIoJobTests : IDisposable
{
    private readonly TempDir _dir = new();
    public void Dispose() => _dir.Dispose();

    private static JsonElement Spec(string name)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NeuralService.sln"))) dir = dir.Parent;
        return JsonDocument.Parse(File.ReadAllText(Path.Combine(dir!.FullName, "onnx-models", "specs", name))).RootElement;
    }

    private static async Task<JsonElement> UploadNpzAsync(HttpClient client, string name, params (string Key, DataArray Array)[] arrays)
    {
        var path = Path.Combine(Path.GetTempPath(), $"{name}-{Guid.NewGuid():N}.npz");
        Npz.Write(path, arrays.ToDictionary(a => a.Key, a => a.Array));
        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(await File.ReadAllBytesAsync(path)), "file", "data.npz");
        form.Add(new StringContent(name), "name");
        File.Delete(path);
        var r = await client.PostAsync("/v1/datasets", form);
        Assert.True(r.StatusCode == HttpStatusCode.Created, await r.Content.ReadAsStringAsync());
        return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
    }

    private static DataArray Floats(int n, int width, int seed)
    {
        var rng = new Random(seed);
        return DataArray.Create(Enumerable.Range(0, n * width).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), n, width);
    }

    /// <summary>features [n, 64]; category = argmax of the first 10; score = sum of the first 3.</summary>
    private static (DataArray X, DataArray Category, DataArray Score) TwoOutputData(int n)
    {
        var x = Floats(n, 64, 3);
        var v = x.ToFloat32();
        var category = Enumerable.Range(0, n).Select(i => (long)Enumerable.Range(0, 10).MaxBy(k => v[i * 64 + k])).ToArray();
        var score = Enumerable.Range(0, n).Select(i => v[i * 64] + v[i * 64 + 1] + v[i * 64 + 2]).ToArray();
        return (x, DataArray.Create(category, n), DataArray.Create(score, n, 1));
    }

    private static async Task<HttpResponseMessage> PostJobAsync(HttpClient client, object body) => await client.PostAsJsonAsync("/v1/jobs", body);

    [Fact]
    public async Task AMultiOutputJobOnANamedNpzTrainsWithPerOutputSettingsAndRegisters()
    {
        using var app = new ApiFactory(_dir.Path);
        var client = app.CreateClient();
        var (x, category, score) = TwoOutputData(96);
        var info = await UploadNpzAsync(client, "two-out", ("x", x), ("y_score", score), ("y_category", category));
        Assert.Equal(["category", "score"], info.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("name").GetString()).Order());
        Assert.Equal(JsonValueKind.Null, info.GetProperty("inputs")[0].GetProperty("name").ValueKind);

        var submitted = await SubmitAsync(client, new
        {
            model = Spec("two_output.json"),
            dataset = "two-out",
            compile = new
            {
                optimizer = "adam", learning_rate = 0.01,
                loss = new { category = "sparse_categorical_crossentropy", score = "mse" },
                loss_weights = new { score = 0.5 },
                metrics = new { category = new[] { "accuracy" }, score = "mae" },
            },
            fit = new { epochs = 2, batch_size = 32, validation_split = 0.25 },
            device = "cpu",
            register_as = "two-out-model",
        });
        var job = await WaitAsync(client, submitted.GetProperty("id").GetString()!);
        Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
        var metrics = job.GetProperty("history")[1].GetProperty("metrics");
        foreach (var k in new[] { "loss", "category_loss", "score_loss", "category_accuracy", "score_mae", "val_loss", "val_category_accuracy", "val_score_mae" })
            Assert.True(metrics.TryGetProperty(k, out _), $"{k} missing from {metrics}");
        Assert.Equal(metrics.GetProperty("category_loss").GetDouble() + 0.5 * metrics.GetProperty("score_loss").GetDouble(),
            metrics.GetProperty("loss").GetDouble(), 2);
        Assert.Equal("two-out-model", job.GetProperty("registered_model").GetString());

        var version = JsonDocument.Parse(await client.GetStringAsync("/v1/models/two-out-model/versions/1")).RootElement;
        Assert.True(version.GetProperty("lineage").GetProperty("final_metrics").TryGetProperty("val_category_accuracy", out _));
        Assert.Equal(2, version.GetProperty("outputs").GetArrayLength());
        var hyper = version.GetProperty("lineage").GetProperty("hyperparameters").GetProperty("compile");
        Assert.Equal("mse", hyper.GetProperty("loss").GetProperty("score").GetString());
    }

    [Fact]
    public async Task ATwoInputJobOnNumberedArraysTrains()
    {
        using var app = new ApiFactory(_dir.Path);
        var client = app.CreateClient();
        var title = Floats(64, 32, 1);
        var t = title.ToFloat32();
        var y = DataArray.Create(Enumerable.Range(0, 64).Select(i => t[i * 32] > 0 ? 1f : 0f).ToArray(), 64, 1);
        await UploadNpzAsync(client, "two-in", ("x0", title), ("x1", Floats(64, 16, 2)), ("y", y));
        var submitted = await SubmitAsync(client, new
        {
            model = Spec("two_input.json"), dataset = "two-in",
            compile = new { loss = "binary_crossentropy", metrics = new[] { "accuracy" } },
            fit = new { epochs = 1, batch_size = 16 }, device = "cpu", register_as = "two-in-model",
        });
        var job = await WaitAsync(client, submitted.GetProperty("id").GetString()!);
        Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
        Assert.True(job.GetProperty("history")[0].GetProperty("metrics").TryGetProperty("accuracy", out _));
    }

    [Fact]
    public async Task SubmitRefusesCompileSettingsAndDatasetsThatDoNotFitTheModel()
    {
        using var app = new ApiFactory(_dir.Path);
        var client = app.CreateClient();
        var (x, category, score) = TwoOutputData(8);
        await UploadNpzAsync(client, "two-out", ("x", x), ("y0", category), ("y1", score));
        await UploadNpzAsync(client, "one-target", ("x", x), ("y", score));
        async Task<string> Refused(object compile, string dataset = "two-out")
        {
            var r = await PostJobAsync(client, new { model = Spec("two_output.json"), dataset, compile, device = "cpu", register_as = "never" });
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
            return JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString()!;
        }
        Assert.Equal("compile.loss: 'scor' is not an output of the model (outputs: category, score)",
            await Refused(new { loss = new { category = "mse", scor = "mse" } }));
        Assert.Equal("compile.loss[1]: unknown loss 'msee'", await Refused(new { loss = new[] { "mse", "msee" } }));
        Assert.Equal("compile.loss: the model has 2 outputs (category, score) but 3 values were given",
            await Refused(new { loss = new[] { "mse", "mse", "mse" } }));
        Assert.Equal("compile.loss_weights.score must be a non-negative number, got -1",
            await Refused(new { loss = "mse", loss_weights = new { score = -1 } }));
        Assert.Equal("compile.metrics: unknown metric 'bogus' for output 'score'",
            await Refused(new { loss = "mse", metrics = new { score = new[] { "bogus" } } }));
        Assert.Equal("dataset 'one-target': the model has 2 outputs (category, score) but the data has 1 output array",
            await Refused(new { loss = "mse" }, "one-target"));
        Assert.Contains("labels of output 'category' are shaped () but the model's output 'category' gives (None, 10)",
            await Refused(new { loss = "mse" }));
        Assert.Empty(JsonDocument.Parse(await client.GetStringAsync("/v1/jobs")).RootElement.GetProperty("jobs").EnumerateArray());
    }
}
