extern alias cli;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NeuralService.Api.Tests.Jobs;
using NeuralService.Api.Tests.Support;
using NeuralService.Training.Data;
using CliApp = cli::NeuralService.Cli.CliApp;

namespace NeuralService.Api.Tests.Integration;

/// <summary>One preprocessing contract, three ways to ask: <c>:predict</c> (on a version or an alias, with top_k and class
/// names), KServe v2 <c>…/infer</c> and <c>neural predict</c> (over HTTP and on the downloaded ONNX file) give the same
/// numbers for the same raw 8-bit inputs — for a model trained by a REST job and one trained by the CLI and uploaded.</summary>
public sealed class PredictAgreementOverTcpTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly KestrelApi _api;
    private readonly HttpClient _client;

    public PredictAgreementOverTcpTests()
    {
        _api = new KestrelApi(Path.Combine(_dir.Path, "data"));
        _client = _api.Client;
    }

    public void Dispose()
    {
        _api.Dispose();
        _dir.Dispose();
    }

    private static readonly string[] Classes = ["bottom", "middle", "top"];

    /// <summary>16 raw 8-bit pixels per sample; class c is bright in its own rows (4 pixels to a row).</summary>
    private static (byte[] X, long[] Y) Pixels(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new byte[n * 16];
        var y = new long[n];
        for (var i = 0; i < n; i++)
        {
            var c = i % 3;
            y[i] = c;
            for (var j = 0; j < 16; j++) x[i * 16 + j] = (byte)(j / 4 == 3 - c || (c == 1 && j / 4 == 1) ? 200 + rng.Next(56) : rng.Next(60));
        }
        return (x, y);
    }

    private static (int Exit, string Out, string Err) Neural(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var exit = CliApp.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private async Task<int> TrainByRestJobAsync()
    {
        var (x, y) = Pixels(150, 1);
        var npz = Path.Combine(_dir.Path, "train.npz");
        Npz.Write(npz, new Dictionary<string, DataArray> { ["x"] = DataArray.Create(x, 150, 16), ["y"] = DataArray.Create(y, 150) });
        using var form = new MultipartFormDataContent();
        form.Add(new ByteArrayContent(await File.ReadAllBytesAsync(npz)), "file", "train.npz");
        form.Add(new StringContent("pixels"), "name");
        var upload = await _client.PostAsync("/v1/datasets", form);
        Assert.True(upload.StatusCode == HttpStatusCode.Created, await upload.Content.ReadAsStringAsync());
        var job = await JobTestHelpers.SubmitAsync(_client, new
        {
            model = JsonDocument.Parse("""
                {"class_name": "Sequential", "config": {"name": "rest_pixels", "layers": [
                  {"class_name": "InputLayer", "config": {"batch_shape": [null, 16], "name": "pixels"}},
                  {"class_name": "Dense", "config": {"units": 3, "activation": "softmax", "name": "y"}}]}}
                """).RootElement,
            dataset = "pixels",
            compile = new { optimizer = "adam", learning_rate = 0.05, loss = "sparse_categorical_crossentropy", metrics = new[] { "accuracy" } },
            fit = new { epochs = 4, batch_size = 16 },
            device = "cpu",
            register_as = "rest-model",
        });
        var done = await JobTestHelpers.WaitAsync(_client, job.GetProperty("id").GetString()!, 120);
        Assert.True(done.GetProperty("state").GetString() == "succeeded", done.ToString());
        return done.GetProperty("registered_version").GetInt32();
    }

    private async Task TrainByCliAndUploadAsync()
    {
        var folder = Path.Combine(_dir.Path, "images");
        var (x, _) = Pixels(36, 2);
        for (var i = 0; i < 36; i++)
        {
            Directory.CreateDirectory(Path.Combine(folder, Classes[i % 3]));
            ImageFolder.Save(Path.Combine(folder, Classes[i % 3], $"{i}.png"), x.AsSpan(i * 16, 16).ToArray().Select(b => (float)b).ToArray(), 4, 4, 1);
        }
        var spec = Path.Combine(_dir.Path, "cli.json");
        await File.WriteAllTextAsync(spec, """
            {"class_name": "Sequential", "config": {"name": "cli_images", "layers": [
              {"class_name": "InputLayer", "config": {"batch_shape": [null, 4, 4, 1], "name": "image"}},
              {"class_name": "Flatten", "config": {"name": "flat"}},
              {"class_name": "Dense", "config": {"units": 3, "activation": "softmax", "name": "y"}}]}}
            """);
        var run = Path.Combine(_dir.Path, "run");
        var (exit, _, err) = Neural("train", spec, "--data", folder, "--epochs", "4", "--batch-size", "8", "--learning-rate", "0.05", "--device", "cpu", "--out", run);
        Assert.True(exit == 0, err);
        var created = await _client.PostAsync("/v1/models/cli-model/versions", TestModels.Octets(await File.ReadAllBytesAsync(Path.Combine(run, "model.onnx"))));
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await _client.PutAsJsonAsync("/v1/models/cli-model/aliases/production", new { version = 1 })).StatusCode);
    }

    private static async Task<JsonElement> Json(HttpResponseMessage r)
    {
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.StatusCode == HttpStatusCode.OK, $"{(int)r.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>Asks the three ways for <paramref name="rows"/> raw samples and checks that they agree; returns the
    /// :predict answer.</summary>
    private async Task<JsonElement> AgreeAsync(string model, string version, string input, int[] sampleShape, byte[] rows)
    {
        var n = rows.Length / 16;
        var raw = rows.Select(b => (float)b).ToArray();
        object Nest(int i) => sampleShape.Length == 1
            ? raw.AsSpan(i * 16, 16).ToArray()
            : Enumerable.Range(0, 4).Select(h => Enumerable.Range(0, 4).Select(w => new[] { raw[i * 16 + h * 4 + w] }).ToArray()).ToArray();
        var predict = await Json(await _client.PostAsync($"/v1/models/{model}/versions/{version}:predict?top_k=2",
            TestModels.Json(JsonSerializer.Serialize(new { instances = Enumerable.Range(0, n).Select(Nest).ToArray() }))));
        var infer = await Json(await _client.PostAsync($"/v2/models/{model}/versions/{version}/infer", TestModels.Json(JsonSerializer.Serialize(new
        {
            inputs = new[] { new { name = input, shape = new[] { n }.Concat(sampleShape).ToArray(), datatype = "FP32", data = raw } },
        }))));
        var inferred = infer.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        var predicted = predict.GetProperty("predictions").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetSingle())).ToArray();
        Assert.Equal(inferred, predicted);

        var npy = Path.Combine(_dir.Path, $"{model}.npy");
        Npy.Write(npy, DataArray.Create(rows, n, 16));
        var overHttp = Neural("predict", "--server", _api.BaseAddress.ToString(), "--model", $"{model}:{version}", "--data", npy, "--limit", n.ToString(CultureInfo.InvariantCulture));
        Assert.True(overHttp.Exit == 0, overHttp.Err);
        var onnx = Path.Combine(_dir.Path, $"{model}.onnx");
        await File.WriteAllBytesAsync(onnx, await _client.GetByteArrayAsync($"/v1/models/{model}/versions/{version}/onnx"));
        var fromFile = Neural("predict", onnx, "--data", npy, "--limit", n.ToString(CultureInfo.InvariantCulture));
        Assert.True(fromFile.Exit == 0, fromFile.Err);
        Assert.Equal(overHttp.Out, fromFile.Out);

        var lines = overHttp.Out.Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(n, lines.Count);
        for (var i = 0; i < n; i++)
        {
            var row = inferred.AsSpan(i * 3, 3).ToArray();
            var best = Array.IndexOf(row, row.Max());
            var top = predict.GetProperty("top_k")[i];
            Assert.Equal(2, top.GetArrayLength());
            Assert.Equal(best, top[0].GetProperty("class").GetInt32());
            Assert.Equal(row[best], top[0].GetProperty("probability").GetSingle());
            Assert.True(top[1].GetProperty("probability").GetSingle() <= row[best]);
            Assert.Equal(best, lines[i].GetProperty("class").GetInt32());
            Assert.Equal(row[best], (float)lines[i].GetProperty("probability").GetDouble());
            Assert.Equal(top[0].GetProperty("name").ValueKind == JsonValueKind.Null ? null : top[0].GetProperty("name").GetString(),
                lines[i].GetProperty("name").ValueKind == JsonValueKind.Null ? null : lines[i].GetProperty("name").GetString());
        }
        return predict;
    }

    [Fact]
    public async Task PredictInferAndTheCliAgreeOnARestTrainedAndACliTrainedModel()
    {
        var version = await TrainByRestJobAsync();
        await TrainByCliAndUploadAsync();
        var (test, labels) = Pixels(9, 7);

        // The REST job scaled the 8-bit data by 1/255 like the CLI and folded it into the registered graph.
        var rest = await Json(await _client.GetAsync($"/v1/models/rest-model/versions/{version}"));
        var contract = rest.GetProperty("preprocessing");
        Assert.True(contract.GetProperty("folded").GetBoolean());
        Assert.Equal(1f / 255f, contract.GetProperty("inputs").GetProperty("pixels").GetProperty("scale").GetSingle());
        Assert.True(contract.GetProperty("outputs").GetProperty("y").GetProperty("classifier").GetBoolean());
        var restAnswer = await AgreeAsync("rest-model", version.ToString(CultureInfo.InvariantCulture), "pixels", [16], test);
        Assert.False(restAnswer.TryGetProperty("class_names", out _)); // an NPZ does not name its classes
        var right = Enumerable.Range(0, 9).Count(i => restAnswer.GetProperty("top_k")[i][0].GetProperty("class").GetInt64() == labels[i]);
        Assert.True(right >= 8, restAnswer.ToString());

        var cli = await Json(await _client.GetAsync("/v1/models/cli-model/versions/production"));
        Assert.Equal("[0,255]", cli.GetProperty("metadata").GetProperty("neuralservice.input_range").GetString());
        Assert.Equal(1f / 255f, cli.GetProperty("preprocessing").GetProperty("inputs").GetProperty("image").GetProperty("scale").GetSingle());
        var cliAnswer = await AgreeAsync("cli-model", "production", "image", [4, 4, 1], test);
        Assert.Equal(Classes, cliAnswer.GetProperty("class_names").EnumerateArray().Select(e => e.GetString()));
        right = Enumerable.Range(0, 9).Count(i => cliAnswer.GetProperty("top_k")[i][0].GetProperty("name").GetString() == Classes[labels[i]]);
        Assert.True(right >= 8, cliAnswer.ToString());
    }

    [Fact]
    public async Task PredictServesVersionsAndAliasesAndChecksTopK()
    {
        await TrainByCliAndUploadAsync();
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/v1/models/plain/versions", TestModels.Octets(TestModels.DenseOnnx()))).StatusCode);
        var image = JsonSerializer.Serialize(new { instances = new[] { Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, 4).Select(_ => new[] { 200f }).ToArray()).ToArray() } });
        async Task<HttpResponseMessage> Post(string path, string body) => await _client.PostAsync(path, TestModels.Json(body));

        var latest = await Json(await Post("/v1/models/cli-model:predict", image));
        Assert.Equal(1, latest.GetProperty("top_k")[0].GetArrayLength()); // the predicted class by default
        var byNumber = await Json(await Post("/v1/models/cli-model/versions/1:predict", image));
        var byAlias = await Json(await Post("/v1/models/cli-model/versions/production:predict", image));
        Assert.Equal(latest.ToString(), byNumber.ToString());
        Assert.Equal(latest.ToString(), byAlias.ToString());
        Assert.Equal(3, (await Json(await Post("/v1/models/cli-model/versions/latest:predict?top_k=3", image))).GetProperty("top_k")[0].GetArrayLength());

        foreach (var (query, expected) in new[] { ("0", "at least 1"), ("two", "whole number"), ("4", "more than the 3 classes") })
        {
            var r = await Post($"/v1/models/cli-model/versions/production:predict?top_k={query}", image);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            Assert.Contains(expected, await r.Content.ReadAsStringAsync());
        }
        Assert.Equal(HttpStatusCode.NotFound, (await Post("/v1/models/cli-model/versions/staging:predict", image)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Post("/v1/models/cli-model/versions/9:predict", image)).StatusCode);

        // A model that records no classifier answers predictions only, and refuses top_k.
        var plain = JsonSerializer.Serialize(new { instances = new[] { new[] { 1f, 2f, 3f, 4f } } });
        var values = await Json(await Post("/v1/models/plain/versions/1:predict", plain));
        Assert.False(values.TryGetProperty("top_k", out _));
        var refused = await Post("/v1/models/plain/versions/1:predict?top_k=2", plain);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("records no classifier output", await refused.Content.ReadAsStringAsync());
    }
}
