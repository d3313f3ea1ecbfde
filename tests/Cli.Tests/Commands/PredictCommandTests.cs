using System.Globalization;
using System.Text.Json;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using NeuralService.Training;
using NeuralService.Training.Data;

namespace NeuralService.Cli.Tests.Commands;

/// <summary><c>neural predict</c> on any ONNX file, and the preprocessing contract of what <c>neural train</c> writes.</summary>
public sealed class PredictCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-predict");
    public void Dispose() => _dir.Delete(recursive: true);

    private const string Images = """
        {"class_name": "Sequential", "config": {"name": "tiny_images", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 4, 4, 1], "name": "image"}},
          {"class_name": "Flatten", "config": {"name": "flat"}},
          {"class_name": "Dense", "config": {"units": 3, "activation": "softmax", "name": "y"}}]}}
        """;

    private static readonly string[] Classes = ["bottom", "middle", "top"];

    private string Path_(params string[] parts) => Path.Combine([_dir.FullName, .. parts]);

    /// <summary>An image folder of 4×4 grey PNGs, a sub-folder per class: class c is bright in its own rows.</summary>
    private string ImageFolder_()
    {
        var root = Path_("images");
        var rng = new Random(3);
        for (var c = 0; c < 3; c++)
        {
            Directory.CreateDirectory(Path.Combine(root, Classes[c]));
            for (var k = 0; k < 12; k++)
            {
                var px = new float[16];
                for (var i = 0; i < 16; i++) px[i] = (i / 4 == 3 - c || (c == 1 && i / 4 == 1)) ? 200 + rng.Next(56) : rng.Next(60);
                ImageFolder.Save(Path.Combine(root, Classes[c], $"{k}.png"), px, 4, 4, 1);
            }
        }
        return root;
    }

    private static List<JsonElement> Lines(string stdout) => stdout.Trim().Split('\n').Select(l => JsonDocument.Parse(l).RootElement).ToList();

    private string Train(string data, params string[] extra)
    {
        var json = Path_("m.json");
        File.WriteAllText(json, Images);
        var output = Path_("run");
        var (exit, _, err) = CliRunner.Run(["train", json, "--data", data, "--epochs", "3", "--batch-size", "8", "--learning-rate", "0.05",
            "--device", "cpu", "--seed", "1", "--out", output, .. extra]);
        Assert.True(exit == 0, err);
        return output;
    }

    [Fact]
    public void TrainFoldsTheByteScaleIntoTheModelAndPredictReadsABareOnnxFile()
    {
        var folder = ImageFolder_();
        var run = Train(folder);
        var onnxPath = Path.Combine(run, "model.onnx");
        OnnxChecker.CheckFiles([onnxPath]);
        var onnx = OnnxModels.Load(onnxPath);
        Assert.Equal("Mul", onnx.Graph.Node[0].OpType);
        var meta = onnx.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("[0,255]", meta[PreprocessingContract.InputRangeKey]);
        Assert.Equal(JsonSerializer.Serialize(Classes), meta[PreprocessingContract.ClassNamesKey]);
        var training = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "training.json"))).RootElement;
        Assert.Equal(1f / 255f, training.GetProperty("scale").GetSingle());

        // The ONNX file alone, away from model.json and training.json: same answers, class names from its metadata.
        var bare = Path_("elsewhere", "model.onnx");
        Directory.CreateDirectory(Path.GetDirectoryName(bare)!);
        File.Copy(onnxPath, bare);
        var (dExit, fromDir, dErr) = CliRunner.Run("predict", run, "--data", folder, "--limit", "36");
        Assert.True(dExit == 0, dErr);
        var (fExit, fromFile, fErr) = CliRunner.Run("predict", bare, "--data", folder, "--limit", "36");
        Assert.True(fExit == 0, fErr);
        Assert.Equal(fromDir, fromFile);
        var rows = Lines(fromFile);
        Assert.Equal(36, rows.Count);
        // Folders are read in class order: the first 12 are "bottom" and so on; the model learned them.
        var right = rows.Count(r => r.GetProperty("name").GetString() == Classes[r.GetProperty("index").GetInt32() / 12]);
        Assert.True(right >= 30, fromFile);

        // One raw 8-bit image as NPY: fed as 0–255 values, as any ONNX consumer would.
        var image = Directory.GetFiles(Path.Combine(folder, "top")).Order().First();
        var pixels = new float[16];
        ImageFolder.DecodeInto(image, 4, 4, ColorMode.Grayscale, pixels);
        var npy = Path_("one.npy");
        Npy.Write(npy, DataArray.Create(pixels.Select(v => (byte)Math.Clamp(MathF.Round(v), 0, 255)).ToArray(), 1, 16));
        var (nExit, nOut, nErr) = CliRunner.Run("predict", bare, "--data", npy);
        Assert.True(nExit == 0, nErr);
        var fromImage = Lines(CliRunner.Run("predict", bare, "--data", image).Out).Single();
        Assert.Equal(fromImage.GetProperty("probability").GetDouble(), Lines(nOut).Single().GetProperty("probability").GetDouble());
    }

    [Fact]
    public void RescaleReplacesTheDefaultAndIsFoldedToo()
    {
        var run = Train(ImageFolder_(), "--rescale", "0.002");
        var contract = PreprocessingContract.FromOnnx(OnnxModels.Load(Path.Combine(run, "model.onnx")))!;
        Assert.Equal(0.002f, contract.For("image").Scale);
        Assert.True(contract.Folded);
        var training = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "training.json"))).RootElement;
        Assert.Equal(0.002, training.GetProperty("rescale").GetDouble());
        // evaluate reads the scale from model.onnx, so it judges the model on the data the way it was trained.
        var (exit, stdout, err) = CliRunner.Run("evaluate", run, "--data", Path_("images"), "--device", "cpu");
        Assert.True(exit == 0, err);
        Assert.True(JsonDocument.Parse(stdout).RootElement.GetProperty("loss").GetDouble() < 1.0, stdout);
    }

    [Fact]
    public void AnExportedModelWithoutMetadataPrintsValues()
    {
        var json = Path_("m.json");
        File.WriteAllText(json, Images);
        var onnx = Path_("plain.onnx");
        Assert.Equal(0, CliRunner.Run("export", json, "-o", onnx).Exit);
        var npy = Path_("x.npy");
        Npy.Write(npy, DataArray.Create(new float[32], 2, 16));
        var (exit, stdout, err) = CliRunner.Run("predict", onnx, "--data", npy);
        Assert.True(exit == 0, err);
        var rows = Lines(stdout);
        Assert.Equal(2, rows.Count);
        Assert.Equal(3, rows[0].GetProperty("value").GetArrayLength());
    }

    [Fact]
    public void AModelThatRecordsAnUnfoldedScaleIsFedScaledValues()
    {
        // What neural train wrote before the scale was folded: the graph takes scaled values, metadata names the scale.
        var json = Path_("m.json");
        File.WriteAllText(json, Images);
        var plain = Path_("plain.onnx");
        Assert.Equal(0, CliRunner.Run("export", json, "-o", plain).Exit);
        var legacy = OnnxModels.Load(plain);
        legacy.MetadataProps.Add(new Onnx.StringStringEntryProto { Key = PreprocessingContract.ScaleKey, Value = "0.003921569" });
        var legacyPath = Path_("legacy.onnx");
        OnnxModels.Save(legacy, legacyPath);
        var folded = new PreprocessingContract(new Dictionary<string, InputScaling> { ["image"] = new(0.003921569f) }, new Dictionary<string, OutputLabels>())
            .Fold(OnnxModels.Load(plain));
        var foldedPath = Path_("folded.onnx");
        OnnxModels.Save(folded, foldedPath);
        OnnxChecker.CheckFiles([foldedPath]);
        var npy = Path_("x.npy");
        var rng = new Random(2);
        Npy.Write(npy, DataArray.Create(Enumerable.Range(0, 48).Select(_ => (byte)rng.Next(256)).ToArray(), 3, 16));
        var fromLegacy = CliRunner.Run("predict", legacyPath, "--data", npy);
        Assert.True(fromLegacy.Exit == 0, fromLegacy.Err);
        Assert.Equal(CliRunner.Run("predict", foldedPath, "--data", npy).Out, fromLegacy.Out);
        Assert.NotEqual(CliRunner.Run("predict", plain, "--data", npy).Out, fromLegacy.Out);
    }

    [Theory]
    [InlineData(new[] { "predict", "--data", "x.npy" }, "give a model")]
    [InlineData(new[] { "predict", "--data", "x.npy", "--model", "m" }, "give --server too")]
    [InlineData(new[] { "predict", "--data", "x.npy", "--server", "http://127.0.0.1:9" }, "--server needs --model")]
    [InlineData(new[] { "predict", "--data", "x.npy", "--server", "ftp://h", "--model", "m" }, "not an http(s) URL")]
    [InlineData(new[] { "predict", "--data", "x.npy", "--server", "http://127.0.0.1:9", "--model", "m" }, "cannot reach http://127.0.0.1:9/")]
    [InlineData(new[] { "predict", "absent.onnx", "--data", "x.npy" }, "neither an .onnx file nor a directory")]
    public void AMissingOrUnreachableModelIsOneErrorLine(string[] args, string expected)
    {
        var (exit, _, err) = CliRunner.Run(args);
        Assert.Equal(1, exit);
        Assert.StartsWith("error: ", err);
        Assert.Contains(expected, err);
        Assert.Single(err.Trim().Split('\n'));
    }
}
