namespace NeuralService.Cli.Tests.Commands;

public sealed class GradCheckCommandTests
{
    private const string Linear = "/usr/share/libonnx-testdata/data/pytorch-converted/test_Linear";

    [Fact]
    public void ALinearModelPassesWithALinePerParameter()
    {
        var (exit, output, err) = CliRunner.Run("gradcheck", Path.Combine(Linear, "model.onnx"), "--data", Path.Combine(Linear, "test_data_set_0"));
        Assert.True(exit == 0, err + output);
        var lines = output.Trim().Split('\n');
        Assert.Equal("2 passed, 0 failed (float64)", lines[^1]);
        Assert.Equal(2, lines.Count(l => l.Contains("max relative error") && l.EndsWith(" ok")));
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
