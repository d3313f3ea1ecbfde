using System.Globalization;
using System.Text.Json;
using NeuralService.Graph.Onnx;
using NeuralService.Training.Data;

namespace NeuralService.Cli.Tests.Commands;

public sealed class TrainCommandsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-train");

    private const string Images = """
        {"class_name": "Sequential", "config": {"name": "fm_dense", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 28, 28, 1], "name": "image"}},
          {"class_name": "Flatten", "config": {"name": "flat"}},
          {"class_name": "Dense", "config": {"units": 16, "activation": "relu", "name": "h"}},
          {"class_name": "Dense", "config": {"units": 10, "activation": "softmax", "name": "y"}}]}}
        """;

    private const string Regression = """
        {"class_name": "Sequential", "config": {"name": "reg", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 2], "name": "x"}},
          {"class_name": "Dense", "config": {"units": 1, "name": "y"}}]}}
        """;

    public void Dispose() => _dir.Delete(recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>y = 2a − b + 0.5 over a small grid, label column last.</summary>
    private string LinearCsv()
    {
        var lines = new List<string> { "a,b,target" };
        var rng = new Random(5);
        for (var i = 0; i < 256; i++)
        {
            double a = rng.NextDouble() * 2 - 1, b = rng.NextDouble() * 2 - 1;
            lines.Add(string.Create(CultureInfo.InvariantCulture, $"{a},{b},{2 * a - b + 0.5}"));
        }
        return Write("linear.csv", string.Join("\n", lines));
    }

    [Fact]
    public void TrainOnFashionMnistWritesTheDirectoryThatEvaluateAndPredictRead()
    {
        var output = Path.Combine(_dir.FullName, "run");
        var (exit, stdout, err) = CliRunner.Run("train", Write("m.json", Images), "--data", "fashion-mnist", "--limit", "512",
            "--epochs", "2", "--batch-size", "64", "--metrics", "accuracy", "--validation-split", "0.25", "--device", "cpu", "--out", output);
        Assert.True(exit == 0, err);
        Assert.Contains("Epoch 2/2", err);
        Assert.StartsWith($"wrote {output}", stdout);
        foreach (var f in new[] { "model.onnx", "model.json", "checkpoint.npz", "training.json", "history.json", "history.png" })
            Assert.True(File.Exists(Path.Combine(output, f)), f);
        Assert.Empty(Directory.GetDirectories(_dir.FullName, ".*tmp*"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], File.ReadAllBytes(Path.Combine(output, "history.png"))[..4]);

        var history = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "history.json"))).RootElement.GetProperty("history");
        var loss = history.GetProperty("loss").EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.Equal(2, loss.Count);
        Assert.True(loss[1] < loss[0], $"loss {loss[0]} → {loss[1]}");
        Assert.Equal(2, history.GetProperty("val_accuracy").GetArrayLength());

        var onnx = OnnxModels.Load(Path.Combine(output, "model.onnx"));
        var meta = onnx.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal(1f / 255f, float.Parse(meta["neuralservice.preprocessing.scale"], CultureInfo.InvariantCulture));
        Assert.Equal("[null,28,28,1]", meta["neuralservice.input_shape"]);
        Assert.Contains("Ankle boot", meta["neuralservice.class_names"]);

        var (eExit, eOut, eErr) = CliRunner.Run("evaluate", output, "--data", "fashion-mnist:test", "--limit", "300", "--device", "cpu");
        Assert.True(eExit == 0, eErr);
        var metrics = JsonDocument.Parse(eOut).RootElement;
        Assert.True(metrics.GetProperty("accuracy").GetDouble() > 0.3, eOut);
        Assert.True(metrics.GetProperty("loss").GetDouble() > 0, eOut);

        var (pExit, pOut, pErr) = CliRunner.Run("predict", output, "--data", "fashion-mnist:test", "--limit", "3");
        Assert.True(pExit == 0, pErr);
        var rows = pOut.Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3, rows.Count);
        foreach (var r in rows)
        {
            Assert.InRange(r.GetProperty("class").GetInt32(), 0, 9);
            Assert.InRange(r.GetProperty("probability").GetDouble(), 0.1, 1.0);
            Assert.False(string.IsNullOrEmpty(r.GetProperty("name").GetString()));
        }
    }

    /// <summary>The graph is built for sparse labels while the data loads; one-hot labels then call for categorical
    /// cross-entropy, and the run trains with it.</summary>
    [Fact]
    public void OneHotLabelsTrainWithCategoricalCrossentropyByDefault()
    {
        const string spec = """
            {"class_name": "Sequential", "config": {"name": "onehot", "layers": [
              {"class_name": "InputLayer", "config": {"batch_shape": [null, 4], "name": "x"}},
              {"class_name": "Dense", "config": {"units": 3, "activation": "softmax", "name": "y"}}]}}
            """;
        const int n = 96;
        var rng = new Random(4);
        var x = new float[n * 4];
        var y = new float[n * 3];
        for (var i = 0; i < n; i++)
        {
            var label = i % 3;
            for (var j = 0; j < 4; j++) x[i * 4 + j] = (float)(rng.NextDouble() * 0.2 + (j == label ? 1 : 0));
            y[i * 3 + label] = 1;
        }
        var data = Path.Combine(_dir.FullName, "onehot.npz");
        Npz.Write(data, new Dictionary<string, DataArray> { ["x"] = DataArray.Create(x, n, 4), ["y"] = DataArray.Create(y, n, 3) });
        var output = Path.Combine(_dir.FullName, "onehot-run");
        var (exit, _, err) = CliRunner.Run("train", Write("onehot.json", spec), "--data", data, "--epochs", "3", "--batch-size", "16",
            "--optimizer", "adam", "--learning-rate", "0.05", "--device", "cpu", "--out", output);
        Assert.True(exit == 0, err);
        var settings = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "training.json"))).RootElement;
        Assert.Equal("categorical_crossentropy", settings.GetProperty("loss").GetString());
        var loss = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "history.json"))).RootElement
            .GetProperty("history").GetProperty("loss").EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.True(loss[^1] < loss[0], $"loss {loss[0]} → {loss[^1]}");
    }

    [Fact]
    public void TrainOnACsvLearnsARegressionAndEvaluateReportsIt()
    {
        var output = Path.Combine(_dir.FullName, "reg");
        var csv = LinearCsv();
        var (exit, _, err) = CliRunner.Run("train", Write("r.json", Regression), "--data", csv, "--epochs", "30", "--batch-size", "16",
            "--learning-rate", "0.05", "--metrics", "mae", "--device", "cpu", "--seed", "2", "--out", output);
        Assert.True(exit == 0, err);
        var (eExit, eOut, eErr) = CliRunner.Run("evaluate", output, "--data", csv, "--device", "cpu");
        Assert.True(eExit == 0, eErr);
        var metrics = JsonDocument.Parse(eOut).RootElement;
        Assert.True(metrics.GetProperty("loss").GetDouble() < 0.01, eOut);
        Assert.True(metrics.GetProperty("mae").GetDouble() < 0.1, eOut);
        var (_, pOut, _) = CliRunner.Run("predict", output, "--data", csv, "--limit", "2");
        Assert.Equal(2, pOut.Trim().Split('\n').Length);
        Assert.Contains("\"value\":[", pOut);
    }

    [Theory]
    [InlineData("absent.csv", "absent.csv")]
    [InlineData("mnist-fashion", "unknown dataset 'mnist-fashion'")]
    public void ABadDatasetIsOneErrorLineAndWritesNothing(string data, string expected)
    {
        var output = Path.Combine(_dir.FullName, "never");
        var (exit, _, err) = CliRunner.Run("train", Write("r.json", Regression), "--data", Path.Combine(_dir.FullName, data) is var p && data.EndsWith(".csv") ? p : data, "--out", output);
        Assert.Equal(1, exit);
        Assert.StartsWith("error: ", err);
        Assert.Contains(expected, err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(Directory.Exists(output));
        Assert.Empty(Directory.GetDirectories(_dir.FullName));
    }

    [Fact]
    public void AnExistingRunIsKeptUnlessOverwriteIsGiven()
    {
        var output = Path.Combine(_dir.FullName, "run");
        string[] train = ["train", Write("r.json", Regression), "--data", LinearCsv(), "--epochs", "1", "--device", "cpu", "--out", output];
        Assert.Equal(0, CliRunner.Run(train).Exit);
        var model = Path.Combine(output, "model.onnx");
        var written = File.ReadAllBytes(model);

        var (exit, _, err) = CliRunner.Run(train);
        Assert.Equal(1, exit);
        Assert.Contains("already exists; pass --overwrite", err);
        Assert.Equal(written, File.ReadAllBytes(model));

        Assert.Equal(0, CliRunner.Run([.. train, "--seed", "7", "--overwrite"]).Exit);
        Assert.NotEqual(written, File.ReadAllBytes(model));
    }

    [Fact]
    public void EvaluateOfADirectoryWithoutATrainedModelFails()
    {
        var (exit, _, err) = CliRunner.Run("evaluate", _dir.FullName, "--data", LinearCsv());
        Assert.Equal(1, exit);
        Assert.Contains("neural train", err);
    }

    [Fact]
    public void ADeviceNamesAGpuByIndexAndAnythingElseIsRefusedBeforeTraining()
    {
        var (exit, _, err) = CliRunner.Run("train", Write("d.json", Regression), "--data", LinearCsv(), "--device", "cuda:x", "--out", Path.Combine(_dir.FullName, "d"));
        Assert.Equal(1, exit);
        Assert.Contains("'cuda:x'", err);
        Assert.Contains("cuda:N", err);
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "d")));
    }
}
