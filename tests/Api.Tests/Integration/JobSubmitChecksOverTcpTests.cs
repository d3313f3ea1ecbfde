using System.Net;
using System.Text;
using System.Text.Json;
using NeuralService.Api.Tests.Support;
using NeuralService.Training.Data;

namespace NeuralService.Api.Tests.Integration;

/// <summary>A job that cannot train on its dataset, or whose callbacks cannot run, is refused at submit over TCP with
/// a 400 that names what to change, and nothing is queued.</summary>
public sealed class JobSubmitChecksOverTcpTests(DefaultService service) : IClassFixture<DefaultService>
{
    private readonly ServedModel _s = service.S;

    private const string SigmoidJson = """
        {"module": "keras", "class_name": "Sequential", "config": {"name": "binary", "layers": [
          {"module": "keras.layers", "class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "input_layer"}},
          {"module": "keras.layers", "class_name": "Dense", "config": {"name": "dense", "units": 1, "activation": "sigmoid"}}
        ]}}
        """;

    private static string Body(string dataset, string extra = "", string model = TestModels.DenseJson, string loss = "sparse_categorical_crossentropy") =>
        $$"""{"model": {{model}}, "dataset": "{{dataset}}", "register_as": "refused", "device": "cpu", "compile": {"loss": "{{loss}}"}{{extra}}}""";

    private async Task<string> RefusedAsync(string body)
    {
        var before = JsonDocument.Parse(await _s.Client.GetStringAsync("/v1/jobs?limit=1000")).RootElement.GetProperty("jobs").GetArrayLength();
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync("/v1/jobs", TestModels.Json(body)), 400);
        Assert.Equal(before, JsonDocument.Parse(await _s.Client.GetStringAsync("/v1/jobs?limit=1000")).RootElement.GetProperty("jobs").GetArrayLength());
        return problem.GetProperty("detail").GetString()!;
    }

    private async Task UploadCsvAsync(string name, string csv) =>
        Assert.Equal(HttpStatusCode.Created, (await _s.Client.PostAsync("/v1/datasets", TestModels.CsvUpload(csv, name))).StatusCode);

    /// <summary>Blobs with class c = i mod <paramref name="classes"/>.</summary>
    private static string Csv(int rows, int classes, int features = 4)
    {
        var sb = new StringBuilder(string.Join(",", Enumerable.Range(0, features).Select(f => $"f{f}")) + ",label\n");
        for (var i = 0; i < rows; i++)
            sb.Append(string.Join(",", Enumerable.Range(0, features).Select(f => f == i % features ? "1" : "0"))).Append(',').Append(i % classes).Append('\n');
        return sb.ToString();
    }

    [Fact]
    public async Task LabelsBeyondTheOutputUnitsSayWhichDenseToUse()
    {
        await UploadCsvAsync("twelve-classes", Csv(24, 12));
        var detail = await RefusedAsync(Body("twelve-classes"));
        Assert.Contains("dataset 'twelve-classes' has labels 0..11", detail);
        Assert.Contains("output 'dense_1' has 3 units", detail);
        Assert.Contains("Dense(12)", detail);
    }

    [Fact]
    public async Task ClassIndicesUnderABinaryLossSayWhatToUseInstead()
    {
        await UploadCsvAsync("three-classes", Csv(12, 3));
        var detail = await RefusedAsync(Body("three-classes", model: SigmoidJson, loss: "binary_crossentropy"));
        Assert.Contains("labels 0..2", detail);
        Assert.Contains("binary_crossentropy", detail);
        Assert.Contains("[0, 1]", detail);
        Assert.Contains("sparse_categorical_crossentropy", detail);
    }

    [Fact]
    public async Task ADatasetWithoutLabelsIsRefusedAtSubmit()
    {
        var npy = new MemoryStream();
        Npy.Write(npy, DataArray.Create(TestModels.Inputs(6, 4), [6, 4]));
        var form = new MultipartFormDataContent { { new ByteArrayContent(npy.ToArray()), "file", "x.npy" }, { new StringContent("unlabeled"), "name" } };
        Assert.Equal(HttpStatusCode.Created, (await _s.Client.PostAsync("/v1/datasets", form)).StatusCode);
        var detail = await RefusedAsync(Body("unlabeled"));
        Assert.Contains("'unlabeled' has no labels", detail);
        Assert.Contains("labels file", detail);
    }

    [Fact]
    public async Task AnUnknownDeviceSaysWhichDevicesThereAre()
    {
        await UploadCsvAsync("for-device", Csv(10, 3));
        foreach (var device in new[] { "tpu", "cuda:x" })
        {
            var detail = await RefusedAsync(Body("for-device").Replace("\"device\": \"cpu\"", $"\"device\": \"{device}\"", StringComparison.Ordinal));
            Assert.Contains($"'{device}'", detail);
            Assert.Contains("cuda:N", detail);
        }
    }

    [Fact]
    public async Task FeaturesOfTheWrongWidthAreRefused()
    {
        await UploadCsvAsync("five-features", Csv(10, 3, features: 5));
        var detail = await RefusedAsync(Body("five-features"));
        Assert.Contains("(5)", detail);
        Assert.Contains("input_layer", detail);
        Assert.Contains("change the input layer's batch_shape", detail);
    }

    [Fact]
    public async Task AValidationDatasetIsCheckedToo()
    {
        await UploadCsvAsync("val-twelve", Csv(24, 12));
        var detail = await RefusedAsync(Body(ServedModel.Dataset, """, "validation_dataset": "val-twelve" """));
        Assert.Contains("validation_dataset 'val-twelve' has labels 0..11", detail);
        detail = await RefusedAsync(Body(ServedModel.Dataset, $$""", "validation_dataset": "{{ServedModel.Dataset}}", "fit": {"validation_split": 0.2}"""));
        Assert.Contains("not both", detail);
        await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync("/v1/jobs", TestModels.Json(Body(ServedModel.Dataset, """, "validation_dataset": "nowhere" """))), 404);
    }

    [Theory]
    [InlineData("""[{"class_name": "EarlyStop"}]""", "callbacks[0].class_name 'EarlyStop'")]
    [InlineData("""[{"class_name": "EarlyStopping", "config": {"patiance": 3}}]""", "callbacks[0].config.patiance")]
    [InlineData("""[{"class_name": "EarlyStopping", "config": {"monitor": "loss", "patience": -1}}]""", "callbacks[0].config.patience")]
    [InlineData("""[{"class_name": "EarlyStopping", "config": {"monitor": "val_loss"}}]""", "validation_split or validation_dataset")]
    [InlineData("""[{"class_name": "TerminateOnNaN"}, {"class_name": "ReduceLROnPlateau", "config": {"monitor": "loss", "factor": 2}}]""", "callbacks[1].config.factor")]
    [InlineData("""[{"class_name": "ReduceLROnPlateau", "config": {"monitor": "loss", "mode": "up"}}]""", "callbacks[0].config.mode")]
    [InlineData("""[{"class_name": "ModelCheckpoint", "config": {"filepath": "../../escape.onnx"}}]""", "callbacks[0].config.filepath")]
    [InlineData("""[{"class_name": "ModelCheckpoint", "config": {"filepath": "model.h5"}}]""", "must end in")]
    [InlineData("""[{"class_name": "TensorBoard", "config": {"log_dir": "/tmp/logs"}}]""", "callbacks[0].config.log_dir")]
    [InlineData("""[{"class_name": "EarlyStopping", "settings": {}}]""", "settings")]
    [InlineData("""[{"class_name": "EarlyStopping", "config": [1]}]""", "callbacks[0].config must be an object")]
    public async Task BadCallbacksAreRefusedNamingTheField(string callbacks, string named)
    {
        var detail = await RefusedAsync(Body(ServedModel.Dataset, $""", "callbacks": {callbacks}"""));
        Assert.Contains(named, detail);
    }
}
