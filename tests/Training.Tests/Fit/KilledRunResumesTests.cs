using System.Diagnostics;
using NeuralService.Training.Callbacks;
using NeuralService.Training.Tests.Support;

namespace NeuralService.Training.Tests.Fit;

/// <summary>A training process killed mid-run resumes from its last backup in a new process.</summary>
public sealed class KilledRunResumesTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("killed-run");
    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task AKilledRunResumesFromItsBackup()
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        psi.ArgumentList.Add(typeof(TrainChild).Assembly.Location);
        psi.ArgumentList.Add(TrainChild.Mode);
        psi.ArgumentList.Add(_dir.FullName);
        using var process = Process.Start(psi)!;
        var epochs = 0;
        var reached = new TaskCompletionSource();
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith("epoch ", StringComparison.Ordinal) != true) return;
            if (Interlocked.Increment(ref epochs) >= 3) reached.TrySetResult();
        };
        process.BeginOutputReadLine();
        var stderr = process.StandardError.ReadToEndAsync();
        await Task.WhenAny(reached.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(90)));
        Assert.True(reached.Task.IsCompleted, $"the child did not train 3 epochs: {(process.HasExited ? await stderr : "timeout")}");
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();

        var backup = new BackupAndRestore(_dir.FullName);
        Assert.NotNull(backup.ResumeFrom);
        var saved = Checkpoint.Load(backup.ResumeFrom!);
        Assert.True(saved.Epoch >= 3, $"backup holds epoch {saved.Epoch}");

        using var trainer = TrainChild.Compiled();
        var history = trainer.Fit(SyntheticData.Blobs(256, 1), new FitOptions { Epochs = saved.Epoch + 2, BatchSize = 32, Verbose = 0, Callbacks = [backup] });
        Assert.Equal([saved.Epoch, saved.Epoch + 1], history.Epochs);
        Assert.Equal(saved.Step + 2 * 8, trainer.Step);
        Assert.Null(backup.ResumeFrom);
    }
}
