using System.Text.Json;
using NeuralService.Cli.Commands;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using NeuralService.Training.Data;

namespace NeuralService.Cli.Tests.Commands;

/// <summary>NPZ datasets for models with several inputs or outputs (x/y, x0 x1 …/y0 y1 …, x_&lt;input&gt;/y_&lt;output&gt;),
/// and per-output --loss, --loss-weights and --metrics through train, evaluate and predict.</summary>
public sealed class MultiIoCommandsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-multi-io");
    public void Dispose() => _dir.Delete(recursive: true);

    private static string TwoInputSpec => Path.Combine(RepoPaths.Specs, "two_input.json");
    private static string TwoOutputSpec => Path.Combine(RepoPaths.Specs, "two_output.json");

    private static DataArray Floats(int n, int width, int seed, Func<int, int, float>? f = null)
    {
        var rng = new Random(seed);
        var data = new float[n * width];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < width; j++) data[i * width + j] = f?.Invoke(i, j) ?? (float)(rng.NextDouble() * 2 - 1);
        return DataArray.Create(data, n, width);
    }

    private string Npz(string name, params (string Key, DataArray Array)[] arrays)
    {
        var path = Path.Combine(_dir.FullName, name);
        Training.Data.Npz.Write(path, arrays.ToDictionary(a => a.Key, a => a.Array));
        return path;
    }

    /// <summary>features [n, 64]; category = argmax of the first 10 (int64); score = sum of the first 3.</summary>
    private static (DataArray X, DataArray Category, DataArray Score) TwoOutputData(int n)
    {
        var x = Floats(n, 64, 3);
        var v = x.ToFloat32();
        var category = Enumerable.Range(0, n).Select(i => (long)Enumerable.Range(0, 10).MaxBy(k => v[i * 64 + k])).ToArray();
        var score = Enumerable.Range(0, n).Select(i => v[i * 64] + v[i * 64 + 1] + v[i * 64 + 2]).ToArray();
        return (x, DataArray.Create(category, n), DataArray.Create(score, n, 1));
    }

    [Fact]
    public void NpzArraysMatchInputsAndOutputsByOrderOrByName()
    {
        var model = KerasModelJson.ReadFile(TwoInputSpec);
        var title = Floats(5, 32, 1);
        var numeric = Floats(5, 16, 2);
        var y = Floats(5, 1, 0, (i, _) => i % 2);
        var byOrder = DataSources.Load(Npz("order.npz", ("x0", title), ("x1", numeric), ("y", y)), model);
        var byName = DataSources.Load(Npz("name.npz", ("x_numeric_features", numeric), ("x_title_features", title), ("y_priority", y)), model);
        foreach (var loaded in new[] { byOrder, byName })
        {
            Assert.Equal(title.ToFloat32(), loaded.Data.Inputs[0].ToFloat32());
            Assert.Equal(numeric.ToFloat32(), loaded.Data.Inputs[1].ToFloat32());
            Assert.Equal(y.ToFloat32(), loaded.Data.Labels!.ToFloat32());
        }

        var two = KerasModelJson.ReadFile(TwoOutputSpec);
        var (x, category, score) = TwoOutputData(4);
        var targets = DataSources.Load(Npz("y.npz", ("x", x), ("y_score", score), ("y_category", category)), two).Data.Targets!;
        Assert.Equal(category.ToInt64(), targets[0].ToInt64());
        Assert.Equal(score.ToFloat32(), targets[1].ToFloat32());
        Assert.Equal(score.ToFloat32(), DataSources.Load(Npz("y01.npz", ("x", x), ("y0", category), ("y1", score)), two).Data.Targets![1].ToFloat32());
    }

    [Fact]
    public void BadNpzNamingIsOneErrorLineNamingTheArrays()
    {
        var title = Floats(3, 32, 1);
        var numeric = Floats(3, 16, 2);
        var y = Floats(3, 1, 0);
        string Error(string npz)
        {
            var (exit, _, err) = CliRunner.Run("train", TwoInputSpec, "--data", npz, "--out", Path.Combine(_dir.FullName, "never"));
            Assert.Equal(1, exit);
            return err.Trim();
        }
        Assert.Contains("names its 'x' arrays in more than one way (x0, x_numeric_features)", Error(Npz("mixed.npz", ("x0", title), ("x_numeric_features", numeric), ("y", y))));
        Assert.Contains("numbers its 'x' arrays x0, x2; they must run x0, x1, … without gaps", Error(Npz("gap.npz", ("x0", title), ("x2", numeric), ("y", y))));
        Assert.Contains("no data for the model's input 'numeric_features' (data arrays: title_features, numeric)",
            Error(Npz("typo.npz", ("x_title_features", title), ("x_numeric", numeric), ("y", y))));
        Assert.Contains("the model has 2 inputs (title_features, numeric_features) but the data has 1 input array", Error(Npz("one.npz", ("x", title), ("y", y))));
        Assert.Contains("samples of shape [16]; the model's input 'title_features' needs [32]", Error(Npz("swapped.npz", ("x0", numeric), ("x1", title), ("y", y))));
        Assert.False(Directory.Exists(Path.Combine(_dir.FullName, "never")));
    }

    [Fact]
    public void AMultiOutputModelTrainsEvaluatesAndPredictsWithPerOutputSettings()
    {
        var (x, category, score) = TwoOutputData(160);
        var data = Npz("two.npz", ("x", x), ("y_category", category), ("y_score", score));
        var output = Path.Combine(_dir.FullName, "run");
        var (exit, stdout, err) = CliRunner.Run("train", TwoOutputSpec, "--data", data, "--epochs", "4", "--batch-size", "32", "--learning-rate", "0.005",
            "--loss", "category=sparse_categorical_crossentropy,score=mse", "--loss-weights", "category=1,score=0.5",
            "--metrics", "category=accuracy", "--metrics", "score=mae,rmse", "--validation-split", "0.25", "--device", "cpu", "--seed", "1", "--out", output);
        Assert.True(exit == 0, err);
        Assert.Contains("score_loss", stdout);

        var history = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "history.json"))).RootElement.GetProperty("history");
        string[] keys = ["category_accuracy", "category_loss", "loss", "score_loss", "score_mae", "score_rmse"];
        Assert.Equal([.. keys, .. keys.Select(k => "val_" + k)], history.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        double Last(string k) => history.GetProperty(k).EnumerateArray().Last().GetDouble();
        double First(string k) => history.GetProperty(k).EnumerateArray().First().GetDouble();
        Assert.True(Last("score_loss") < First("score_loss"), $"score_loss {First("score_loss")} → {Last("score_loss")}");
        Assert.True(Last("category_loss") < First("category_loss"));
        Assert.True(File.Exists(Path.Combine(output, "history.png")));

        var meta = OnnxModels.Load(Path.Combine(output, "model.onnx")).MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("category,score", meta["neuralservice.output"]);
        Assert.Equal("[[null,10],[null,1]]", meta["neuralservice.output_shape"]);
        Assert.Equal("category=sparse_categorical_crossentropy,score=mse", meta["neuralservice.loss"]);
        Assert.Equal("category=1,score=0.5", meta["neuralservice.loss_weights"]);

        var (eExit, eOut, eErr) = CliRunner.Run("evaluate", output, "--data", data, "--device", "cpu");
        Assert.True(eExit == 0, eErr);
        var eval = JsonDocument.Parse(eOut).RootElement;
        Assert.Equal(keys, eval.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(eval.GetProperty("category_loss").GetDouble() + 0.5 * eval.GetProperty("score_loss").GetDouble(), eval.GetProperty("loss").GetDouble(), 4);

        var (pExit, pOut, pErr) = CliRunner.Run("predict", output, "--data", data, "--limit", "2");
        Assert.True(pExit == 0, pErr);
        var lines = pOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines.Count);
        var outputs = lines[1].GetProperty("outputs");
        Assert.Equal(1, lines[1].GetProperty("index").GetInt32());
        Assert.InRange(outputs.GetProperty("category").GetProperty("class").GetInt32(), 0, 9);
        Assert.InRange(outputs.GetProperty("category").GetProperty("probability").GetDouble(), 0, 1);
        Assert.Equal(1, outputs.GetProperty("score").GetProperty("value").GetArrayLength());
    }

    [Fact]
    public void ATwoInputModelTrainsFromNumberedArraysAndLossesAreCheckedPerOutput()
    {
        var title = Floats(48, 32, 1);
        var numeric = Floats(48, 16, 2);
        var t = title.ToFloat32();
        var y = Floats(48, 1, 0, (i, _) => t[i * 32] > 0 ? 1 : 0);
        var data = Npz("two-in.npz", ("x0", title), ("x1", numeric), ("y", y));
        var output = Path.Combine(_dir.FullName, "two-in");
        var (exit, _, err) = CliRunner.Run("train", TwoInputSpec, "--data", data, "--epochs", "1", "--batch-size", "20", "--metrics", "accuracy",
            "--device", "cpu", "--out", output);
        Assert.True(exit == 0, err);
        var training = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "training.json"))).RootElement;
        Assert.Equal("binary_crossentropy", training.GetProperty("loss").GetString()); // the default for one sigmoid unit
        var (eExit, eOut, eErr) = CliRunner.Run("evaluate", output, "--data", data, "--device", "cpu");
        Assert.True(eExit == 0, eErr);
        Assert.Equal(["accuracy", "loss"], JsonDocument.Parse(eOut).RootElement.EnumerateObject().Select(p => p.Name).Order());
        var meta = OnnxModels.Load(Path.Combine(output, "model.onnx")).MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("title_features,numeric_features", meta["neuralservice.input"]);
        Assert.Equal("[[null,32],[null,16]]", meta["neuralservice.input_shape"]);

        var (x, category, score) = TwoOutputData(8);
        var two = Npz("two-out.npz", ("x", x), ("y0", category), ("y1", score));
        string Error(params string[] options)
        {
            var (code, _, e) = CliRunner.Run(["train", TwoOutputSpec, "--data", two, "--out", Path.Combine(_dir.FullName, "never"), .. options]);
            Assert.Equal(1, code);
            return e.Trim();
        }
        Assert.Equal("error: --loss: the model has 2 outputs (category, score) but 3 values were given", Error("--loss", "mse,mse,mse"));
        Assert.Equal("error: --loss: 'scor' is not an output of the model (outputs: category, score)", Error("--loss", "category=mse,scor=mse"));
        Assert.Equal("error: --loss-weights: 'heavy' is not a number", Error("--loss-weights", "heavy,1"));
        Assert.Equal("error: --metrics: give metrics for every output (accuracy) or by output name (output=metric), not both", Error("--metrics", "accuracy,score=mae"));
    }

    [Fact]
    public void RepeatedLossOptionsGoInOutputOrder()
    {
        var (x, category, score) = TwoOutputData(16);
        var data = Npz("rep.npz", ("x", x), ("y0", category), ("y1", score));
        var output = Path.Combine(_dir.FullName, "rep");
        var (exit, _, err) = CliRunner.Run("train", TwoOutputSpec, "--data", data, "--loss", "sparse_categorical_crossentropy", "--loss", "mae",
            "--loss-weights", "2,1", "--device", "cpu", "--out", output);
        Assert.True(exit == 0, err);
        var training = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "training.json"))).RootElement;
        Assert.Equal("mae", training.GetProperty("losses").GetProperty("score").GetString());
        Assert.Equal(2, training.GetProperty("loss_weights").GetProperty("category").GetDouble());
        var (eExit, eOut, eErr) = CliRunner.Run("evaluate", output, "--data", data, "--device", "cpu");
        Assert.True(eExit == 0, eErr);
        var eval = JsonDocument.Parse(eOut).RootElement;
        Assert.Equal(2 * eval.GetProperty("category_loss").GetDouble() + eval.GetProperty("score_loss").GetDouble(), eval.GetProperty("loss").GetDouble(), 4);
        Assert.Equal("category=2,score=1", OnnxModels.Load(Path.Combine(output, "model.onnx")).MetadataProps.Single(p => p.Key == "neuralservice.loss_weights").Value);
    }
}
