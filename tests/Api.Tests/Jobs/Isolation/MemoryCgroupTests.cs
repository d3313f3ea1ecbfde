using NeuralService.Api.Jobs.Isolation;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Jobs.Isolation;

/// <summary>The cgroup v2 file protocol, against a directory laid out as a delegated group (this machine may have no
/// writable cgroup v2 hierarchy): a child group with <c>memory.max</c> at the budget, the worker's pid in
/// <c>cgroup.procs</c>, an OOM kill read from <c>memory.events</c>.</summary>
public sealed class MemoryCgroupTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void AGroupIsMadeOnlyWhereTheMemoryControllerIsDelegated()
    {
        Assert.Null(MemoryCgroup.TryCreate(_dir.Path, "neural-job-a", 1 << 30, out var why));
        Assert.Contains("memory controller is not enabled", why);

        File.WriteAllText(Path.Combine(_dir.Path, "cgroup.subtree_control"), "cpu memory pids\n");
        using var group = MemoryCgroup.TryCreate(_dir.Path, "neural-job-a", 400_000_000, out why);
        Assert.NotNull(group);
        var path = Path.Combine(_dir.Path, "neural-job-a");
        Assert.Equal("400000000", File.ReadAllText(Path.Combine(path, "memory.max")));
        Assert.Equal("0", File.ReadAllText(Path.Combine(path, "memory.swap.max")));
        group.Add(4242);
        Assert.Equal("4242", File.ReadAllText(Path.Combine(path, "cgroup.procs")));

        Assert.False(group.OomKilled);
        File.WriteAllText(Path.Combine(path, "memory.events"), "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n");
        File.WriteAllText(Path.Combine(path, "memory.peak"), "400001024\n");
        Assert.True(group.OomKilled);
        Assert.Equal(400_001_024, group.Peak);
    }
}
