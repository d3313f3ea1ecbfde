using NeuralService.Inference.Registry;
using NeuralService.Inference.Tests.Support;

namespace NeuralService.Inference.Tests.Registry;

public sealed class DataDirectoryPresenceTests
{
    [Fact]
    public void ProcessesSeeEachOtherUntilOneLeavesAndDeadOnesAreForgotten()
    {
        using var data = new TempDirectory();
        using var a = new DataDirectoryPresence(data.Path);
        Assert.False(a.OthersPresent());
        var b = new DataDirectoryPresence(data.Path);
        Assert.True(a.OthersPresent());
        Assert.True(b.OthersPresent());
        b.Dispose();
        Assert.False(a.OthersPresent());

        // A presence file nobody holds (its process died) is not a process.
        var stale = Path.Combine(data.Path, "presence", "elsewhere-1-dead.lock");
        File.WriteAllText(stale, "");
        Assert.False(a.OthersPresent());
        Assert.False(File.Exists(stale));
    }

    [Fact]
    public async Task WhileAnotherProcessIsPresentRecentLeftoversAreKeptAndOldOnesRemoved()
    {
        using var data = new TempDirectory();
        string blobs, tmp;
        using (var first = await ModelRegistry.OpenSqliteAsync(data.Path))
        {
            blobs = first.Blobs.BlobDirectory;
            tmp = first.Blobs.TempDirectory;
        }
        var fresh = Path.Combine(blobs, new string('a', 64) + ".onnx");
        var old = Path.Combine(blobs, new string('b', 64) + ".onnx");
        var partial = Path.Combine(tmp, "writing.partial");
        foreach (var f in new[] { fresh, old, partial }) File.WriteAllBytes(f, [1, 2, 3]);
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddDays(-1));

        using (new DataDirectoryPresence(data.Path)) // another replica, mid-registration
        using (await ModelRegistry.OpenSqliteAsync(data.Path))
        {
            Assert.True(File.Exists(fresh));
            Assert.True(File.Exists(partial));
            Assert.False(File.Exists(old));
        }

        using (await ModelRegistry.OpenSqliteAsync(data.Path)) // alone again: everything unreferenced goes
        {
            Assert.False(File.Exists(fresh));
            Assert.False(File.Exists(partial));
        }
    }

    [Fact]
    public async Task DeletingAVersionKeepsAFileAnotherProcessJustWroteTheSameContentTo()
    {
        using var data = new TempDirectory();
        using var registry = await ModelRegistry.OpenSqliteAsync(data.Path);
        var v = await registry.RegisterAsync("m", TestModels.Affine());
        using (new DataDirectoryPresence(data.Path))
        {
            await registry.DeleteVersionAsync("m", v.Version);
            Assert.True(File.Exists(registry.FilePath(v)), "a fresh file is left while another process may be committing it");
        }
        var again = await registry.RegisterAsync("m", TestModels.Affine());
        await registry.DeleteVersionAsync("m", again.Version);
        Assert.False(File.Exists(registry.FilePath(again)));
    }
}
