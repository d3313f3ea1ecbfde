using NeuralService.Training.Data;
using NeuralService.Training.Tests.Support;

namespace NeuralService.Training.Tests.Data;

public sealed class TextDataTests
{
    [Fact]
    public void FortuneFilesSplitOnPercentLines()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("science"), "E = mc^2\n%\nTwo lines\nof wisdom\n%\n");
        File.WriteAllText(dir.File("art"), "A picture\n%\n%\nis worth\n");
        File.WriteAllText(dir.File("art.dat"), "\0\0binary");
        var t = TextData.LoadFortunes(dir.Path);
        Assert.Equal(["art", "science"], t.ClassNames);
        Assert.Equal(["A picture", "is worth", "E = mc^2", "Two lines\nof wisdom"], t.Texts);
        Assert.Equal(new long[] { 0, 0, 1, 1 }, t.Labels);
    }

    [Fact]
    public void DebianFortunesAreALabeledCorpus()
    {
        if (!File.Exists(Path.Combine(TextData.FortunesDirectory, "science"))) return;
        var t = TextData.LoadFortunes(categories: ["computers", "science"]);
        Assert.Equal(["computers", "science"], t.ClassNames);
        Assert.True(t.Count > 200, $"only {t.Count} fortunes");
        Assert.Contains(0L, t.Labels);
        Assert.Contains(1L, t.Labels);
        Assert.DoesNotContain(t.Texts, s => s.Split('\n').Contains("%") || s.Trim().Length == 0);
        var all = TextData.LoadFortunes();
        Assert.DoesNotContain(all.ClassNames, n => n.EndsWith(".dat") || n.EndsWith(".u8"));
    }

    [Fact]
    public void TextFolderOneFilePerSample()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("pos"));
        Directory.CreateDirectory(dir.File("neg"));
        File.WriteAllText(Path.Combine(dir.Path, "pos", "1.txt"), "great");
        File.WriteAllText(Path.Combine(dir.Path, "neg", "1.txt"), "bad");
        File.WriteAllText(Path.Combine(dir.Path, "neg", "2.txt"), "awful");
        var t = TextData.LoadFolder(dir.Path);
        Assert.Equal(["neg", "pos"], t.ClassNames);
        Assert.Equal(["bad", "awful", "great"], t.Texts);
        Assert.Equal(new long[] { 0, 0, 1 }, t.Labels);
    }

    [Fact]
    public void MissingFortunesNamesThePackage()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => TextData.LoadFortunes("/nonexistent/fortunes"));
        Assert.Contains("fortunes", e.Message);
    }
}
