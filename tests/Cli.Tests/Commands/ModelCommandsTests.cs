using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Cli.Tests.Commands;

public sealed class ModelCommandsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-cli");

    private const string Mlp = """
        {"class_name": "Sequential", "config": {"name": "mlp", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 8], "name": "x"}},
          {"class_name": "Dense", "config": {"units": 4, "activation": "relu", "name": "h"}},
          {"class_name": "Dense", "config": {"units": 2, "activation": "softmax", "name": "y"}}]}}
        """;

    public void Dispose() => _dir.Delete(recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir.FullName, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void SummaryPrintsTheTableEndingInTotalParams()
    {
        var (exit, output, _) = CliRunner.Run("summary", Write("mlp.json", Mlp));
        Assert.Equal(0, exit);
        Assert.Contains("h (Dense)", output);
        Assert.Equal("Total params: 46", output.TrimEnd().Split('\n')[^1]);
    }

    [Fact]
    public void ExportWritesAValidOnnxFileWithADynamicBatch()
    {
        var target = Path.Combine(_dir.FullName, "out", "mlp.onnx");
        var (exit, _, err) = CliRunner.Run("export", Write("mlp.json", Mlp), "-o", target);
        Assert.True(exit == 0, err);
        OnnxChecker.CheckFiles([target]);
        var model = OnnxModels.Load(target);
        Assert.Equal("batch", model.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(17, model.OpsetImport.Single().Version);
        var (y, dims) = Ort.Run1(model, Reference.Random(3 * 8, 5), [3, 8]);
        Assert.Equal([3, 2], dims);
        for (var r = 0; r < 3; r++) Assert.Equal(1.0, y[2 * r] + y[2 * r + 1], 5);
    }

    [Theory]
    [InlineData("""{"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 3]}}, {"class_name": "Dense", "config": {"units": 0}}]}}""", "units must be positive, got 0")]
    [InlineData("{ not json", "malformed JSON")]
    [InlineData("""{"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", "config": {"batch_shape": [null, 3]}}, {"class_name": "Nope", "config": {}}]}}""", "unknown layer class 'Nope'")]
    public void BadSpecsFailWithOneLineAndWriteNothing(string spec, string expected)
    {
        var target = Path.Combine(_dir.FullName, "bad.onnx");
        var (exit, _, err) = CliRunner.Run("export", Write("bad.json", spec), "-o", target);
        Assert.Equal(1, exit);
        Assert.Contains(expected, err);
        Assert.StartsWith("error: ", err);
        Assert.False(File.Exists(target));
        Assert.Empty(Directory.GetFiles(_dir.FullName, "bad.onnx*"));
    }

    [Fact]
    public void MissingFileIsAClearError()
    {
        var (exit, _, err) = CliRunner.Run("summary", Path.Combine(_dir.FullName, "absent.json"));
        Assert.Equal(1, exit);
        Assert.Contains("absent.json", err);
    }
}
