using System.Diagnostics;
using System.Globalization;

namespace NeuralService.Cli.Tests.Commands;

/// <summary><c>neural train</c> as a person runs it: in a pseudo-terminal (util-linux <c>script</c>), where stderr is a
/// terminal and the progress line is redrawn in place with carriage returns.</summary>
public sealed class TerminalTrainTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-tty");

    public void Dispose() => _dir.Delete(recursive: true);

    [SkippableFact]
    public void TrainInAPseudoTerminalRedrawsTheProgressLineAndSucceeds()
    {
        Skip.IfNot(File.Exists("/usr/bin/script"), "util-linux 'script' is not installed");
        var model = Path.Combine(_dir.FullName, "reg.json");
        File.WriteAllText(model, """
            {"class_name": "Sequential", "config": {"name": "reg", "layers": [
              {"class_name": "InputLayer", "config": {"batch_shape": [null, 2], "name": "x"}},
              {"class_name": "Dense", "config": {"units": 1, "name": "y"}}]}}
            """);
        var rng = new Random(3);
        var rows = Enumerable.Range(0, 2000).Select(_ =>
        {
            double a = rng.NextDouble() * 2 - 1, b = rng.NextDouble() * 2 - 1;
            return string.Create(CultureInfo.InvariantCulture, $"{a},{b},{2 * a - b + 0.5}");
        });
        var data = Path.Combine(_dir.FullName, "linear.csv");
        File.WriteAllLines(data, ["a,b,target", .. rows]);
        var outDir = Path.Combine(_dir.FullName, "run");
        var dll = Path.Combine(AppContext.BaseDirectory, "neural.dll");
        var command = $"dotnet '{dll}' train '{model}' --data '{data}' --epochs 2 --batch-size 4 --out '{outDir}'";

        var start = new ProcessStartInfo("/usr/bin/script", ["-qefc", command, "/dev/null"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.Environment["TERM"] = "xterm";
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "neural train did not finish in a terminal");
        var screen = stdout.Result;

        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{screen}\n{stderr.Result}");
        Assert.Contains("Epoch 2/2", screen);
        // Each epoch's line is drawn more than once in place: a carriage return precedes the final "500/500 [====…" form.
        var redraws = screen.Split('\r').Count(part => part.Contains(" - loss: ", StringComparison.Ordinal));
        Assert.True(redraws >= 2, $"expected redrawn progress lines, got:\n{screen}");
        Assert.Contains("500/500 [==============================]", screen);
        Assert.True(File.Exists(Path.Combine(outDir, "model.onnx")), "the run directory was not written");
    }
}
