using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Hosting;

/// <summary>What the service prints on its console, started as a person starts it: readable lines in Development
/// (run.sh's default), one compact JSON object a line elsewhere (for log collectors).</summary>
public sealed class ConsoleLogTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>The first console line that mentions <c>Now listening on</c>.</summary>
    private string ListeningLine(string environment)
    {
        var config = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        var dll = Path.Combine(RepoRoot(), "src", "Api", "bin", config, "net10.0", "NeuralService.Api.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { dll, "--urls", "http://127.0.0.1:0" }) start.ArgumentList.Add(a);
        start.Environment["ASPNETCORE_ENVIRONMENT"] = environment;
        start.Environment["NEURAL_DATA_DIR"] = Path.Combine(_dir.Path, environment);
        using var process = Process.Start(start)!;
        try
        {
            var seen = new List<string>();
            var read = Task.Run(() =>
            {
                while (process.StandardOutput.ReadLine() is { } line)
                {
                    seen.Add(line);
                    if (line.Contains("Now listening on", StringComparison.Ordinal)) return line;
                }
                return null;
            });
            Assert.True(read.Wait(TimeSpan.FromSeconds(60)), $"no 'Now listening on' within 60 s: {string.Join("\n", seen)}");
            return read.Result ?? throw new Xunit.Sdk.XunitException($"the service stopped: {string.Join("\n", seen)}\n{process.StandardError.ReadToEnd()}");
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NeuralService.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("NeuralService.sln not found");
    }

    [Fact]
    public void DevelopmentLogsAreReadableLines()
    {
        var line = ListeningLine("Development");
        Assert.Matches(new Regex(@"^\[\d\d:\d\d:\d\d INF\] Now listening on: http://127\.0\.0\.1:\d+"), line);
    }

    [Fact]
    public void ProductionLogsAreCompactJson()
    {
        var line = ListeningLine("Production");
        var e = JsonDocument.Parse(line).RootElement;
        Assert.Matches(@"^Now listening on: ""?http://127\.0\.0\.1:\d+", e.GetProperty("@m").GetString());
        Assert.True(e.TryGetProperty("@t", out _));
    }
}
