using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NeuralService.Api.Tests.Support;
using NeuralService.Training.Tests.Support;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Keras callbacks and a validation dataset in a job over TCP: EarlyStopping ends a stalled run, ReduceLROnPlateau
/// lowers the rate the history logs, TensorBoard event files are listed and downloadable, a validation dataset gives
/// val_ metrics.</summary>
public sealed class JobCallbacksOverTcpTests : IDisposable
{
    private readonly ServedModel _s = new(new Dictionary<string, string?> { ["Neural:Workers"] = "1", ["Jobs:PollSeconds"] = "0.2" });

    public void Dispose() => _s.Dispose();

    private static object Body(string registerAs, int epochs, object callbacks, double validationSplit = 0, string? validationDataset = null) => new
    {
        model = JsonDocument.Parse(TestModels.DenseJson).RootElement,
        dataset = ServedModel.Dataset,
        compile = new { optimizer = "adam", learning_rate = 0.05, loss = "sparse_categorical_crossentropy", metrics = new[] { "accuracy" } },
        fit = new { epochs, batch_size = 10, validation_split = validationSplit },
        device = "cpu",
        register_as = registerAs,
        callbacks,
        validation_dataset = validationDataset,
    };

    private async Task<JsonElement> RunAsync(object body)
    {
        var job = await WaitAsync(_s.Client, (await SubmitAsync(_s.Client, body)).GetProperty("id").GetString()!);
        Assert.True(job.GetProperty("state").GetString() == "succeeded", job.ToString());
        return job;
    }

    private static List<JsonElement> History(JsonElement job) => job.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("metrics")).ToList();

    [Fact]
    public async Task EarlyStoppingEndsARunWhoseMonitorStalls()
    {
        // No epoch can improve val_loss by 100, so the first epoch is the best and patience 2 stops after the third.
        var job = await RunAsync(Body("stopped", epochs: 20, validationSplit: 0.2, callbacks: new[]
        {
            new { class_name = "EarlyStopping", config = new { monitor = "val_loss", patience = 2, min_delta = 100.0, restore_best_weights = true } },
        }));
        Assert.Equal(3, job.GetProperty("history").GetArrayLength());
        Assert.Equal(3, job.GetProperty("epoch").GetInt32());
        Assert.Equal(3, job.GetProperty("stopped_epoch").GetInt32());
        Assert.Equal("stopped", job.GetProperty("registered_model").GetString());
    }

    [Fact]
    public async Task ReduceLrOnPlateauLowersTheRateTheHistoryShows()
    {
        var job = await RunAsync(Body("reduced", epochs: 4, callbacks: new[]
        {
            new { class_name = "ReduceLROnPlateau", config = new { monitor = "loss", factor = 0.5, patience = 1, min_delta = 100.0 } },
        }));
        var rates = History(job).Select(m => m.GetProperty("learning_rate").GetDouble()).ToList();
        // Each epoch logs the rate it trained with; the plateau halves it after every stalled epoch from the second on.
        Assert.Equal([0.05, 0.05, 0.025, 0.0125], rates.Select(r => Math.Round(r, 6)));
        Assert.False(job.TryGetProperty("stopped_epoch", out var stopped) && stopped.ValueKind != JsonValueKind.Null);
    }

    [Fact]
    public async Task TensorBoardFilesAreListedAndDownloadable()
    {
        var job = await RunAsync(Body("logged", epochs: 3, validationSplit: 0.2, callbacks: new object[]
        {
            new { class_name = "TensorBoard", config = new { } },
            new { class_name = "ModelCheckpoint", config = new { filepath = "best.onnx", monitor = "val_loss", save_best_only = true } },
        }));
        var files = job.GetProperty("files").EnumerateArray().Select(f => f.GetString()!).ToList();
        var train = Assert.Single(files, f => f.StartsWith("tensorboard/train/events.out.tfevents.", StringComparison.Ordinal));
        var validation = Assert.Single(files, f => f.StartsWith("tensorboard/validation/events.out.tfevents.", StringComparison.Ordinal));
        Assert.Contains("checkpoints/best.onnx", files);

        var id = job.GetProperty("id").GetString()!;
        var losses = History(job).Select(m => (float)m.GetProperty("loss").GetDouble()).ToList();
        var scalars = ReadScalars(await _s.Client.GetByteArrayAsync($"/v1/jobs/{id}/files/{train}"));
        Assert.Equal(losses, scalars.Where(s => s.Tag == "epoch_loss").OrderBy(s => s.Step).Select(s => s.Value));
        Assert.Equal([0L, 1, 2], scalars.Where(s => s.Tag == "epoch_accuracy").Select(s => s.Step).Order());
        var valLosses = History(job).Select(m => (float)m.GetProperty("val_loss").GetDouble()).ToList();
        Assert.Equal(valLosses, ReadScalars(await _s.Client.GetByteArrayAsync($"/v1/jobs/{id}/files/{validation}"))
            .Where(s => s.Tag == "epoch_loss").OrderBy(s => s.Step).Select(s => s.Value));

        // The best checkpoint is an ONNX model ONNX Runtime runs.
        var onnx = await _s.Client.GetByteArrayAsync($"/v1/jobs/{id}/files/checkpoints/best.onnx");
        Assert.Equal(3 * 2, TestModels.RunOrt(onnx, TestModels.Inputs(2, 4), 2, 4).Length);

        foreach (var bad in new[] { "../../registry.db", "tensorboard", "nothing.txt" })
            await ProblemAssert.IsProblemAsync(await _s.Client.GetAsync($"/v1/jobs/{id}/files/{bad}"), 404);
    }

    [Fact]
    public async Task AValidationDatasetGivesValMetrics()
    {
        Assert.Equal(HttpStatusCode.Created, (await _s.Client.PostAsync("/v1/datasets", TestModels.CsvUpload(TestModels.BlobsCsv(12), "blobs-val"))).StatusCode);
        var job = await RunAsync(Body("validated", epochs: 2, validationDataset: "blobs-val", callbacks: new[]
        {
            new { class_name = "EarlyStopping", config = new { monitor = "val_accuracy", patience = 5 } },
        }));
        foreach (var m in History(job))
        {
            Assert.InRange(m.GetProperty("val_accuracy").GetDouble(), 0, 1);
            Assert.True(m.GetProperty("val_loss").GetDouble() > 0);
        }
        var lineage = JsonDocument.Parse(await _s.Client.GetStringAsync("/v1/models/validated/versions/1")).RootElement.GetProperty("lineage");
        Assert.Contains("blobs-val", lineage.GetProperty("hyperparameters").ToString());
    }

    [Fact]
    public async Task AMonitorTheLogsLackFailsTheJobNamingTheLoggedNames()
    {
        var submitted = await SubmitAsync(_s.Client, Body("mistyped", epochs: 5, validationSplit: 0.2, callbacks: new[]
        {
            new { class_name = "ReduceLROnPlateau", config = new { monitor = "val_acc", patience = 1 } },
        }));
        var job = await WaitAsync(_s.Client, submitted.GetProperty("id").GetString()!);
        Assert.Equal("failed", job.GetProperty("state").GetString());
        var error = job.GetProperty("error").GetString()!;
        Assert.Contains("callbacks[0].config.monitor 'val_acc' is not among the logs of epoch 1", error);
        Assert.Contains("val_accuracy", error);
        Assert.Equal(HttpStatusCode.NotFound, (await _s.Client.GetAsync("/v1/models/mistyped")).StatusCode);
    }

    private static List<(string Tag, long Step, float Value)> ReadScalars(byte[] bytes) => TensorBoardEventFiles.Read(bytes).Scalars;
}
