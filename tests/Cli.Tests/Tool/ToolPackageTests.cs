using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using NeuralService.Cli.Tests.Plots;

namespace NeuralService.Cli.Tests.Tool;

/// <summary><c>neural</c> as a person installs it: the project packed as a .NET tool, installed from that package
/// alone (no registry) into a tool directory, and run from there.</summary>
public sealed class ToolPackageTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-tool");

    public void Dispose() => _dir.Delete(recursive: true);

    private static (int Exit, string Out, string Err) Run(string file, string arguments, string workingDirectory,
        IReadOnlyDictionary<string, string>? environment = null, int timeoutSeconds = 120)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>()) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {arguments} ran over {timeoutSeconds} s");
        }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    [Fact]
    public void PackedToolInstallsFromItsPackageAndTrainsPredictsAndPlots()
    {
        var repo = CliRunner.RepoRoot();
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var artifacts = Path.Combine(_dir.FullName, "artifacts");
        // Only this machine's native libraries: the package is then a third of its full size and packs faster.
        var (packExit, packOut, packErr) = Run("dotnet",
            $"pack src/Cli -c {configuration} --no-build -o \"{artifacts}\" -p:NeuralToolRuntimes={RuntimeInformation.RuntimeIdentifier}", repo);
        Assert.True(packExit == 0, packOut + packErr);
        Assert.Single(Directory.GetFiles(artifacts, "NeuralService.Cli.*.nupkg"));

        // The package alone: no other source, and a private cache so an older 0.1.0 in ~/.nuget is not picked up.
        var config = Path.Combine(_dir.FullName, "nuget.config");
        File.WriteAllText(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration><packageSources><clear /><add key="artifacts" value="{artifacts}" /></packageSources></configuration>
            """);
        var tools = Path.Combine(_dir.FullName, "tools");
        var (installExit, installOut, installErr) = Run("dotnet", $"tool install --tool-path \"{tools}\" --configfile \"{config}\" NeuralService.Cli", _dir.FullName,
            new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(_dir.FullName, "packages") });
        Assert.True(installExit == 0, installOut + installErr);
        var neural = Path.Combine(tools, "neural");
        Assert.True(File.Exists(neural), $"no {neural}");

        var (helpExit, help, _) = Run(neural, "--help", _dir.FullName);
        Assert.Equal(0, helpExit);
        foreach (var command in new[] { "summary", "export", "train", "evaluate", "predict" }) Assert.Contains(command, help);

        File.WriteAllText(Path.Combine(_dir.FullName, "r.json"), """
            {"class_name": "Sequential", "config": {"name": "reg", "layers": [
              {"class_name": "InputLayer", "config": {"batch_shape": [null, 2], "name": "x"}},
              {"class_name": "Dense", "config": {"units": 1, "name": "y"}}]}}
            """);
        var (summaryExit, summary, summaryErr) = Run(neural, "summary r.json", _dir.FullName);
        Assert.True(summaryExit == 0, summaryErr);
        Assert.Contains("Total params: 3", summary);

        // ONNX Runtime's and SkiaSharp's native libraries come with the tool: training and plotting work from it.
        var rng = new Random(3);
        File.WriteAllLines(Path.Combine(_dir.FullName, "d.csv"), ["a,b,t", .. Enumerable.Range(0, 64).Select(_ =>
        {
            double a = rng.NextDouble(), b = rng.NextDouble();
            return string.Create(CultureInfo.InvariantCulture, $"{a},{b},{2 * a - b}");
        })]);
        var (trainExit, trainOut, trainErr) = Run(neural, "train r.json --data d.csv --epochs 2 --out run", _dir.FullName);
        Assert.True(trainExit == 0, trainOut + trainErr);
        var (predictExit, predictions, predictErr) = Run(neural, "predict run --data d.csv --limit 20 --plot p.png", _dir.FullName);
        Assert.True(predictExit == 0, predictErr);
        Assert.Equal(20, predictions.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        using var png = Png.Decode(Path.Combine(_dir.FullName, "p.png"));
        Assert.Equal((960, 400), (png.Width, png.Height));
        using var history = Png.Decode(Path.Combine(_dir.FullName, "run", "history.png"));
        Assert.True(Png.Count(history, NeuralService.Cli.Commands.HistoryPlot.Train, 0, 0, history.Width, history.Height) > 50, "history.png has no loss curve");
    }
}
