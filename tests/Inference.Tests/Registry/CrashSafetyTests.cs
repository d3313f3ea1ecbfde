using System.Diagnostics;
using NeuralService.Inference.Registry;
using NeuralService.Inference.Tests.Support;

namespace NeuralService.Inference.Tests.Registry;

/// <summary>Kills a process that is writing large models at random moments; the registry must come back either
/// before or after the interrupted version, consistent, with no stray files.</summary>
public sealed class CrashSafetyTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Killed_writer_leaves_old_or_new_state()
    {
        using var data = new TempDirectory();
        var random = new Random(1234);
        var lastSeen = 0;
        var interruptedWrites = 0;
        for (var round = 0; round < 4; round++)
        {
            // Kill at a random point within the writes after the first few commits (each write takes ~100 ms here).
            var afterCommits = random.Next(1, 4);
            var delay = TimeSpan.FromMilliseconds(random.Next(0, 150));
            var committed = await RunAndKillAsync(data.Path, afterCommits, delay);
            var leftovers = Directory.GetFiles(Path.Combine(data.Path, "tmp")).Length;
            interruptedWrites += leftovers;
            output.WriteLine($"round {round}: killed {delay.TotalMilliseconds} ms after commit {afterCommits}, {committed} reported committed, {leftovers} partial file(s) left");
            using var registry = await ModelRegistry.OpenSqliteAsync(data.Path);
            var listed = await registry.ListVersionsAsync("big");
            var versions = listed.Select(v => v.Version).ToList();
            // A version may have committed just before the kill without its line reaching us.
            var count = versions.Count;
            Assert.InRange(count, lastSeen + committed, lastSeen + committed + 1);
            Assert.Equal(Enumerable.Range(1, count), versions);
            Assert.Empty(await registry.CheckConsistencyAsync());
            Assert.Empty(Directory.GetFiles(Path.Combine(data.Path, "tmp")));
            // Orphans (written but never committed) are gone: exactly the referenced files remain.
            Assert.Equal(listed.Select(v => v.Sha256 + ".onnx").Distinct().Order(), Directory.GetFiles(Path.Combine(data.Path, "blobs")).Select(Path.GetFileName).Order());
            lastSeen = count;
        }
        output.WriteLine($"{interruptedWrites} kill(s) landed mid-file-write");
    }

    /// <summary>Starts the writer, kills it <paramref name="after"/> its <paramref name="commits"/>-th commit; returns
    /// the number of commits it reported.</summary>
    private static async Task<int> RunAndKillAsync(string dataDirectory, int commits, TimeSpan after)
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
        var reached = new TaskCompletionSource();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("committed ", StringComparison.Ordinal) != true) return;
            if (Interlocked.Increment(ref committed) >= commits) reached.TrySetResult();
        };
        process.BeginOutputReadLine();
        var stderr = process.StandardError.ReadToEndAsync();
        await Task.WhenAny(reached.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(reached.Task.IsCompleted, $"crash writer did not commit {commits} versions: {(process.HasExited ? await stderr : "timeout")}");
        await Task.Delay(after);
        Assert.False(process.HasExited, $"crash writer exited early: {(process.HasExited ? await stderr : "")}");
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        return Volatile.Read(ref committed);
    }
}
