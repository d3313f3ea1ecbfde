using System.Buffers.Binary;
using System.Globalization;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralService.Training;
using NeuralService.Training.Callbacks;

namespace NeuralService.Cli.Tests.Commands;

/// <summary><c>neural train</c>'s callbacks (--early-stopping, --reduce-lr-on-plateau, --checkpoint-best, --tensorboard),
/// --validation-data and --resume, run as a user runs them.</summary>
public sealed class TrainCallbackOptionsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-train-cb");

    private const string Regression = """
        {"class_name": "Sequential", "config": {"name": "reg", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 2], "name": "x"}},
          {"class_name": "Dense", "config": {"units": 1, "name": "y"}}]}}
        """;

    public void Dispose() => _dir.Delete(recursive: true);

    private string Path_(string name) => Path.Combine(_dir.FullName, name);

    /// <summary>y = 2a − b + 0.5, label column last.</summary>
    private string Csv(string name, int rows, int seed)
    {
        var rng = new Random(seed);
        var lines = new List<string> { "a,b,target" };
        for (var i = 0; i < rows; i++)
        {
            double a = rng.NextDouble() * 2 - 1, b = rng.NextDouble() * 2 - 1;
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{a},{b},{2 * a - b + 0.5}"));
        }
        File.WriteAllText(Path_(name), string.Join("\n", lines));
        return Path_(name);
    }

    private string Model()
    {
        File.WriteAllText(Path_("m.json"), Regression);
        return Path_("m.json");
    }

    private static (int Exit, string Out, string Err) Train(params string[] args) =>
        CliRunner.Run(["train", .. args, "--device", "cpu"]);

    private static Dictionary<string, List<double>> History(string dir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "history.json"))).RootElement.GetProperty("history").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN).ToList());

    /// <summary>A rate so small no float32 weight moves: every epoch of one full batch sees exactly the same loss.</summary>
    private string[] Stalled(string outDir) =>
        [Model(), "--data", Csv("d.csv", 64, 1), "--optimizer", "sgd", "--learning-rate", "1e-30", "--batch-size", "64", "--out", outDir];

    [Fact]
    public void EarlyStoppingEndsAStalledRunAfterPatienceEpochs()
    {
        var output = Path_("stopped");
        var (exit, stdout, err) = Train([.. Stalled(output), "--epochs", "20", "--early-stopping", "2"]);
        Assert.True(exit == 0, err);
        Assert.Equal(3, History(output)["loss"].Count);
        Assert.Contains("3 epochs; stopped early at epoch 3, restored the weights of epoch 1", stdout);
        Assert.Contains("Epoch 3/20", err);
        Assert.DoesNotContain("Epoch 4/20", err);
    }

    [Fact]
    public void ReduceLrOnPlateauHalvesTheRateAndHistoryLogsIt()
    {
        var output = Path_("reduced");
        var (exit, _, err) = Train([.. Stalled(output), "--epochs", "4", "--reduce-lr-on-plateau", "1,0.5"]);
        Assert.True(exit == 0, err);
        Assert.Equal([1e-30, 1e-30, 5e-31, 2.5e-31], History(output)["learning_rate"].Select(r => Math.Round(r / 1e-30, 6) * 1e-30));
    }

    [Fact]
    public void CheckpointBestKeepsTheBestEpochsModelAndCheckpoint()
    {
        var output = Path_("best");
        var (exit, _, err) = Train(Model(), "--data", Csv("d.csv", 128, 2), "--validation-data", Csv("v.csv", 32, 3), "--epochs", "4",
            "--learning-rate", "0.05", "--checkpoint-best", "--out", output);
        Assert.True(exit == 0, err);
        var valLoss = History(output)["val_loss"];
        Assert.Equal(4, valLoss.Count);
        var best = valLoss.IndexOf(valLoss.Min());
        Assert.Equal(best + 1, Checkpoint.Load(Path.Combine(output, "best.npz")).Epoch);
        Assert.Equal(4, Checkpoint.Load(Path.Combine(output, "checkpoint.npz")).Epoch);
        using var session = new InferenceSession(Path.Combine(output, "best.onnx"));
        using var r = session.Run([NamedOnnxValue.CreateFromTensor(session.InputNames[0], new DenseTensor<float>(new[] { 0.5f, -0.5f }, [1, 2]))]);
        Assert.True(float.IsFinite(r.First().AsTensor<float>()[0, 0]));
    }

    [Fact]
    public void TensorBoardWritesFramedEventFilesPerSplit()
    {
        var logs = Path_("tb");
        var (exit, _, err) = Train(Model(), "--data", Csv("d.csv", 64, 1), "--validation-split", "0.25", "--epochs", "2",
            "--tensorboard", logs, "--out", Path_("run"));
        Assert.True(exit == 0, err);
        // A header event, then per epoch: train loss and learning rate; validation loss.
        Assert.Equal(1 + 2 * 2, Records(Assert.Single(Directory.GetFiles(Path.Combine(logs, "train"), "events.out.tfevents.*"))));
        Assert.Equal(1 + 2, Records(Assert.Single(Directory.GetFiles(Path.Combine(logs, "validation"), "events.out.tfevents.*"))));
    }

    [Fact]
    public void ValidationDataGivesValMetricsAndExcludesASplit()
    {
        var output = Path_("validated");
        var (exit, _, err) = Train(Model(), "--data", Csv("d.csv", 64, 1), "--validation-data", Csv("v.csv", 16, 9), "--epochs", "2", "--out", output);
        Assert.True(exit == 0, err);
        Assert.Equal(2, History(output)["val_loss"].Count(double.IsFinite));

        (exit, _, err) = Train(Model(), "--data", Csv("d.csv", 64, 1), "--validation-data", Path_("v.csv"), "--validation-split", "0.2", "--out", Path_("both"));
        Assert.Equal(1, exit);
        Assert.Contains("not both", err);
        (exit, _, err) = Train(Model(), "--data", Path_("d.csv"), "--early-stopping", "1", "--monitor", "val_loss", "--out", Path_("noval"));
        Assert.Equal(1, exit);
        Assert.Contains("--monitor val_loss needs validation data", err);
    }

    [Fact]
    public void ResumeContinuesTheRunAsIfItHadNotStopped()
    {
        var data = Csv("d.csv", 96, 4);
        string[] common = ["--data", data, "--batch-size", "16"];
        var whole = Path_("whole");
        Assert.Equal(0, Train([Model(), .. common, "--learning-rate", "0.02", "--epochs", "4", "--out", whole]).Exit);

        var part = Path_("part");
        Assert.Equal(0, Train([Model(), .. common, "--learning-rate", "0.02", "--epochs", "2", "--out", part]).Exit);
        var (exit, stdout, err) = Train([.. common, "--resume", part, "--epochs", "4"]);
        Assert.True(exit == 0, err);
        Assert.Contains("Epoch 3/4", err);
        Assert.DoesNotContain("Epoch 1/4", err);
        Assert.StartsWith($"wrote {part} (4 epochs", stdout);

        var resumed = History(part)["loss"];
        var expected = History(whole)["loss"];
        Assert.Equal(4, resumed.Count);
        // Same weights, optimizer state, step and per-epoch shuffle: the resumed epochs match the uninterrupted run.
        for (var i = 0; i < 4; i++) Assert.True(Math.Abs(resumed[i] - expected[i]) < 1e-5 * Math.Max(1, expected[i]), $"epoch {i + 1}: {resumed[i]} vs {expected[i]}");
        Assert.Equal(4, Checkpoint.Load(Path.Combine(part, "checkpoint.npz")).Epoch);
        Assert.Equal([0, 1, 2, 3], JsonDocument.Parse(File.ReadAllText(Path.Combine(part, "history.json"))).RootElement.GetProperty("epoch").EnumerateArray().Select(e => e.GetInt32()));

        (exit, _, err) = Train([.. common, "--resume", part, "--epochs", "4"]);
        Assert.Equal(1, exit);
        Assert.Contains("has done 4 already: pass --epochs 5 or more", err);
        (exit, _, err) = Train([.. common, "--resume", part, "--epochs", "5", "--loss", "mae"]);
        Assert.Equal(1, exit);
        Assert.Contains("--loss cannot be changed by --resume", err);
        (exit, _, err) = Train([.. common, "--resume", part, "--epochs", "5", "--learning-rate", "0.1"]);
        Assert.Equal(1, exit);
        Assert.Contains("--learning-rate cannot be changed by --resume", err);
        (exit, _, err) = Train([Model(), .. common, "--resume", part, "--epochs", "5"]);
        Assert.Equal(1, exit);
        Assert.Contains("not both", err);
    }

    [Fact]
    public void AMonitorTheLogsLackIsAnErrorNamingTheLoggedNames()
    {
        var (exit, _, err) = Train(Model(), "--data", Csv("d.csv", 32, 1), "--validation-split", "0.25", "--epochs", "3",
            "--early-stopping", "1", "--monitor", "val_acc", "--out", Path_("mistyped"));
        Assert.Equal(1, exit);
        Assert.Contains("--monitor 'val_acc' is not among the logs of epoch 1 (loss, val_loss)", err);
        Assert.False(Directory.Exists(Path_("mistyped")));
    }

    [Theory]
    [InlineData("2,2")]
    [InlineData("x")]
    [InlineData("2,0.5,-1")]
    public void BadPlateauArgumentsSayTheForm(string value)
    {
        var (exit, _, err) = Train(Model(), "--data", Csv("d.csv", 16, 1), "--reduce-lr-on-plateau", value, "--out", Path_("bad"));
        Assert.Equal(1, exit);
        Assert.Contains("PATIENCE[,FACTOR[,MIN_LR]]", err);
        Assert.False(Directory.Exists(Path_("bad")));
    }

    /// <summary>Counts TFRecord frames, checking the masked CRC-32C of each length and payload.</summary>
    private static int Records(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var n = 0;
        for (var at = 0; at < bytes.Length; n++)
        {
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(at));
            Assert.Equal(Crc32C.Masked(bytes.AsSpan(at, 8)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 8)));
            Assert.Equal(Crc32C.Masked(bytes.AsSpan(at + 12, length)), BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at + 12 + length)));
            at += 16 + length;
        }
        return n;
    }
}
