using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Cli.Tests.Commands;

public sealed class GradCheckCommandTests : IDisposable
{
    private const string Linear = "/usr/share/libonnx-testdata/data/pytorch-converted/test_Linear";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-gradcheck");

    public void Dispose() => _dir.Delete(true);

    [Fact]
    public void ALinearModelPassesWithALinePerParameter()
    {
        var (exit, output, err) = CliRunner.Run("gradcheck", Path.Combine(Linear, "model.onnx"), "--data", Path.Combine(Linear, "test_data_set_0"));
        Assert.True(exit == 0, err + output);
        var lines = output.Trim().Split('\n');
        Assert.Equal("2 passed, 0 failed (float64, ONNX Runtime)", lines[^1]);
        Assert.Equal(2, lines.Count(l => l.Contains("max relative error") && l.Contains("all ") && l.EndsWith(" ok")));
    }

    [Fact]
    public void WrtAllChecksTheInputToo()
    {
        var (exit, output, err) = CliRunner.Run("gradcheck", Path.Combine(Linear, "model.onnx"), "--data", Path.Combine(Linear, "test_data_set_0"), "--wrt", "all");
        Assert.True(exit == 0, err + output);
        Assert.Equal("3 passed, 0 failed (float64, ONNX Runtime)", output.Trim().Split('\n')[^1]);
    }

    /// <summary>A lone Softmax has no parameters: only its input's gradient can be checked.</summary>
    [Fact]
    public void WrtInputsChecksAModelWithoutParameters()
    {
        var g = new GraphBuilder();
        g.AddOutput(g.Node1("Softmax", [g.AddInput("x", DataType.Float, Shape.Of(3, 5))]), "y");
        var path = Path.Combine(_dir.FullName, "softmax.onnx");
        OnnxModels.Save(g.ToModel(), path);

        var (exit, output, err) = CliRunner.Run("gradcheck", path, "--wrt", "inputs");
        Assert.True(exit == 0, err + output);
        var lines = output.Trim().Split('\n');
        Assert.StartsWith("x [3,5]: max relative error ", lines[0]);
        Assert.Contains("all 15 elements", lines[0]);
        Assert.Equal("1 passed, 0 failed (float64, ONNX Runtime)", lines[^1]);

        var (paramsExit, _, paramsErr) = CliRunner.Run("gradcheck", path);
        Assert.Equal(1, paramsExit);
        Assert.Contains("no floating-point parameter", paramsErr);
    }

    [Fact]
    public void AnUnknownWrtIsRejected()
    {
        var (exit, _, err) = CliRunner.Run("gradcheck", Path.Combine(Linear, "model.onnx"), "--wrt", "weights");
        Assert.NotEqual(0, exit);
        Assert.Contains("weights", err);
    }

    [Fact]
    public void AnImpossibleToleranceFailsWithANonZeroExit()
    {
        var (exit, output, _) = CliRunner.Run("gradcheck", Path.Combine(Linear, "model.onnx"), "--tolerance", "1e-300");
        Assert.Equal(1, exit);
        Assert.Contains(" failed", output.Trim().Split('\n')[^1]);
        Assert.DoesNotContain("0 failed", output.Trim().Split('\n')[^1]);
    }

    [Fact]
    public void AMissingModelIsAnError()
    {
        var (exit, _, err) = CliRunner.Run("gradcheck", "/nonexistent/model.onnx");
        Assert.Equal(1, exit);
        Assert.StartsWith("error: ", err);
    }
}
