using NeuralService.Training.Data;
using NeuralService.Training.Tests.Support;

namespace NeuralService.Training.Tests.Data;

public sealed class ImageFolderTests
{
    /// <summary>A solid-colour 8x6 (h x w) RGB image.</summary>
    private static float[] Solid(float r, float g, float b) =>
        Enumerable.Range(0, 8 * 6).SelectMany(_ => new[] { r, g, b }).ToArray();

    private static TempDir MakeFolder()
    {
        var dir = new TempDir();
        Directory.CreateDirectory(dir.File("dogs"));
        Directory.CreateDirectory(dir.File("cats"));
        ImageFolder.Save(Path.Combine(dir.Path, "cats", "a.png"), Solid(255, 0, 0), 8, 6, 3);
        ImageFolder.Save(Path.Combine(dir.Path, "cats", "b.jpg"), Solid(0, 0, 255), 8, 6, 3);
        ImageFolder.Save(Path.Combine(dir.Path, "dogs", "c.png"), Solid(10, 200, 30), 8, 6, 3);
        File.WriteAllText(Path.Combine(dir.Path, "dogs", "notes.txt"), "not an image");
        return dir;
    }

    [Fact]
    public void LabelsComeFromSortedFolderNames()
    {
        using var dir = MakeFolder();
        var ds = ImageFolder.Load(dir.Path, 4, 3);
        Assert.Equal(["cats", "dogs"], ds.ClassNames!);
        Assert.Equal([3, 4, 3, 3], ds.Features.Shape);
        Assert.Equal(new long[] { 0, 0, 1 }, ds.Labels!.As<long>());
        var x = ds.Features.As<float>();
        // PNG is lossless and a solid image stays solid through bilinear resizing.
        Assert.Equal(new[] { 255f, 0f, 0f }, x[..3]);
        Assert.Equal(new[] { 10f, 200f, 30f }, x[(2 * 36)..(2 * 36 + 3)]);
        // JPEG is lossy: close to pure blue.
        Assert.InRange(x[36 + 2], 240, 255);
        Assert.InRange(x[36], 0, 15);
    }

    [Fact]
    public void GrayscaleUsesLumaWeights()
    {
        using var dir = MakeFolder();
        var ds = ImageFolder.Load(dir.Path, 2, 2, ColorMode.Grayscale);
        Assert.Equal([3, 2, 2, 1], ds.Features.Shape);
        Assert.Equal(0.2989f * 255, ds.Features.As<float>()[0], 2);
        Assert.Equal(0.2989f * 10 + 0.587f * 200 + 0.114f * 30, ds.Features.As<float>()[8], 2);
    }

    [Fact]
    public void ResizeIsBilinearBetweenColumns()
    {
        using var dir = new TempDir();
        Directory.CreateDirectory(dir.File("only"));
        // 1 row x 2 columns: black | white, upscaled to 1 x 4: the middle pixels blend.
        ImageFolder.Save(Path.Combine(dir.Path, "only", "g.png"), [0, 0, 0, 255, 255, 255], 1, 2, 3);
        var x = ImageFolder.Load(dir.Path, 1, 4, ColorMode.Grayscale).Features.As<float>();
        Assert.Equal(0f, x[0], 1);
        Assert.Equal(255f, x[3], 1);
        Assert.InRange(x[1], 20, 128);
        Assert.InRange(x[2], 128, 235);
    }

    [Fact]
    public void StreamingFolderMatchesTheInMemoryLoad()
    {
        using var dir = MakeFolder();
        var memory = ImageFolder.Load(dir.Path, 4, 3);
        var stream = new ImageFolderDataset(dir.Path, 4, 3, batchSize: 2);
        var batches = stream.GetBatches().ToList();
        Assert.Equal(2, batches.Count);
        Assert.Equal(memory.Features.As<float>(), batches.SelectMany(b => b.Features.As<float>()));
        var shuffled = new ImageFolderDataset(dir.Path, 4, 3, batchSize: 3, shuffle: true, seed: 1).GetBatches().Single();
        Assert.Equal(new long[] { 0, 0, 1 }, shuffled.Labels!.As<long>().Order());
    }

    [Fact]
    public void FolderWithoutClassesFails()
    {
        using var dir = new TempDir();
        Assert.Contains("no class sub-folders", Assert.Throws<DataFormatException>(() => ImageFolder.Load(dir.Path, 2, 2)).Message);
    }
}
