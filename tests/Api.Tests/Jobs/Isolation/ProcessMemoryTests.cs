using System.Diagnostics;
using NeuralService.Api.Jobs;
using NeuralService.Api.Jobs.Isolation;

namespace NeuralService.Api.Tests.Jobs.Isolation;

public sealed class ProcessMemoryTests
{
    [SkippableFact]
    public void ATreeCountsItsChildrenAndAGoneProcessCountsNothing()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "reads /proc");
        var self = ProcessMemory.ResidentBytes(Environment.ProcessId);
        Assert.True(self > 10 << 20, $"VmRSS of the test host: {self}");
        using var sleep = Process.Start(new ProcessStartInfo("sleep", "30") { UseShellExecute = false })!;
        try
        {
            var child = 0L;
            for (var i = 0; i < 50 && (child = ProcessMemory.ResidentBytes(sleep.Id)) == 0; i++) Thread.Sleep(20);
            Assert.True(child > 0);
            Assert.True(ProcessMemory.TreeResidentBytes(Environment.ProcessId) >= self + child - (8 << 20));
        }
        finally
        {
            sleep.Kill();
            sleep.WaitForExit();
        }
        Assert.Equal(0, ProcessMemory.TreeResidentBytes(sleep.Id));
    }

    [Fact]
    public void TheWorkerIsThisProgramRunByTheDotnetHost()
    {
        var (file, prefix) = JobProcessRunner.WorkerCommand();
        // Under the test host the Api assembly is a dll next to the tests, run with dotnet.
        Assert.Equal("dotnet", Path.GetFileNameWithoutExtension(file));
        Assert.Equal("NeuralService.Api.dll", Path.GetFileName(Assert.Single(prefix)));
        Assert.True(File.Exists(prefix[0]));
    }
}
