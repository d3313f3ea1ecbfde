using System.Diagnostics;
using NeuralService.Inference.Registry;
using NeuralService.Inference.Tests.Support;

namespace NeuralService.Inference.Tests.Registry;

/// <summary>Kills a process that is writing large models at random moments; the registry must come back either
/// before or after the interrupted version, consistent, with no stray files.</summary>
public sealed class CrashSafetyTests
{
    [Fact]
    public async Task Killed_writer_leaves_old_or_new_state()
    {
        using var data = new TempDirectory();
        var random = new Random(1234);
        var lastSeen = 0;
        for (var round = 0; round < 4; round++)
        {
            var committed = await RunAndKillAsync(data.Path, TimeSpan.FromMilliseconds(random.Next(50, 900)));
            using var registry = await ModelRegistry.OpenSqliteAsync(data.Path);
            var versions = (await registry.ListVersionsAsync("big")).Select(v => v.Version).ToList();
            // A version may have committed just before the kill without its line reaching us.
            var count = versions.Count;
            Assert.InRange(count, Math.Max(lastSeen, committed), Math.Max(lastSeen, committed) + 1);
            Assert.Equal(Enumerable.Range(1, count), versions);
            Assert.Empty(await registry.CheckConsistencyAsync());
            Assert.Empty(Directory.GetFiles(Path.Combine(data.Path, "tmp")));
            Assert.Equal(count, Directory.GetFiles(Path.Combine(data.Path, "blobs")).Length);
            lastSeen = count;
        }
    }

    /// <summary>Starts the writer, kills it <paramref name="after"/> its registry opened; returns the last version it reported.</summary>
    private static async Task<int> RunAndKillAsync(string dataDirectory, TimeSpan after)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        psi.ArgumentList.Add(typeof(CrashWriter).Assembly.Location);
        psi.ArgumentList.Add(CrashWriter.Mode);
        psi.ArgumentList.Add(dataDirectory);
        using var process = Process.Start(psi)!;
        var committed = 0;
        var opened = new TaskCompletionSource();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data == "opened") opened.TrySetResult();
            else if (e.Data?.StartsWith("committed ", StringComparison.Ordinal) == true) Volatile.Write(ref committed, int.Parse(e.Data[10..]));
        };
        process.BeginOutputReadLine();
        var stderr = process.StandardError.ReadToEndAsync();
        var started = await Task.WhenAny(opened.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(30)));
        Assert.True(opened.Task.IsCompleted, $"crash writer did not start: {(process.HasExited ? await stderr : "timeout")}");
        await Task.Delay(after);
        Assert.False(process.HasExited, $"crash writer exited early: {(process.HasExited ? await stderr : "")}");
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        return Volatile.Read(ref committed);
    }
}
