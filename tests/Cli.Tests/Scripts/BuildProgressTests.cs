using System.Diagnostics;

namespace NeuralService.Cli.Tests.Scripts;

/// <summary>run.sh's build output (scripts/build-progress.sh): a line per restored and built project as they finish,
/// errors shown, the rest of MSBuild's chatter left in the log.</summary>
public sealed class BuildProgressTests
{
    private static (int Exit, string Out) Bash(string script, string input)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = CliRunner.RepoRoot() };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        using var process = Process.Start(start)!;
        process.StandardInput.Write(input);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(30_000), "bash did not finish");
        return (process.ExitCode, output);
    }

    [Fact]
    public void BuildOutputIsCondensedToOneLinePerProjectAndEveryError()
    {
        const string msbuild = """
              Determining projects to restore...
              Restored /work/repo/src/Graph/Graph.csproj (in 2.9 sec).
              Restored /work/repo/src/Cli/Cli.csproj (in 310 ms).
            /work/repo/src/Graph/Gen.cs(1,1): warning CS1591: something long and noisy [/work/repo/src/Graph/Graph.csproj]
              Graph -> /work/repo/src/Graph/bin/Release/net10.0/NeuralService.Graph.dll
            /work/repo/src/Cli/A.cs(3,5): error CS0103: The name 'x' does not exist in the current context [/work/repo/src/Cli/Cli.csproj]
              Cli -> /work/repo/src/Cli/bin/Release/net10.0/neural.dll

            Time Elapsed 00:01:02.33
            """;
        var (exit, output) = Bash("source scripts/build-progress.sh && build_progress", msbuild);
        Assert.Equal(0, exit);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, lines.Length);
        Assert.Matches(@"^  \[ +\d+s\] restored Graph$", lines[0]);
        Assert.Matches(@"^  \[ +\d+s\] restored Cli$", lines[1]);
        Assert.Matches(@"^  \[ +\d+s\] built Graph$", lines[2]);
        Assert.Contains("error CS0103: The name 'x' does not exist", lines[3]);
        Assert.Matches(@"^  \[ +\d+s\] built Cli$", lines[4]);
    }

    [Fact]
    public void AFailedBuildEndsWithItsLogTailAndANonZeroStatus()
    {
        // `dotnet build` of a project that does not exist fails at once, without building anything.
        var log = Path.Combine(Path.GetTempPath(), $"neural-build-{Guid.NewGuid():N}.log");
        try
        {
            var (exit, output) = Bash($"source scripts/build-progress.sh && build_with_progress '{log}' no-such-project.csproj", "");
            Assert.NotEqual(0, exit);
            Assert.StartsWith("building no-such-project.csproj", output);
            Assert.Contains("MSB1009", output); // from the log's tail: the project file does not exist
        }
        finally { File.Delete(log); }
    }
}
