using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Keras;

/// <summary>The corpus ships in the repository, and a missing corpus fails the tests that read it.</summary>
public sealed class KerasCorpusLocationTests
{
    [Fact]
    public void TheRepositoryHoldsTheCorpusWithItsIndex()
    {
        var files = RepoPaths.KerasCorpusFiles(Path.Combine(RepoPaths.Root, "tests", "data", "keras-corpus"));
        Assert.Equal(15, files.Length);
    }

    [Fact]
    public void AMissingCorpusThrowsNamingTheFolder()
    {
        var empty = Directory.CreateTempSubdirectory("no-corpus");
        try
        {
            var e = Assert.Throws<DirectoryNotFoundException>(() => RepoPaths.KerasCorpusFiles(empty.FullName));
            Assert.Contains(empty.FullName, e.Message);
            Assert.Throws<DirectoryNotFoundException>(() => RepoPaths.KerasCorpusFiles(Path.Combine(empty.FullName, "absent")));
        }
        finally { empty.Delete(recursive: true); }
    }
}
