using NeuralService.Cli.Commands;
using NeuralService.Graph.Keras;
using NeuralService.Training.Data;

namespace NeuralService.Cli.Tests.Commands;

public sealed class DataSourcesTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("neural-data");
    public void Dispose() => _dir.Delete(recursive: true);

    private static readonly Graph.Models.Model Model = KerasModelJson.Read("""
        {"class_name": "Sequential", "config": {"name": "m", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 2, 2], "name": "x"}},
          {"class_name": "Flatten", "config": {"name": "f"}},
          {"class_name": "Dense", "config": {"units": 3, "activation": "softmax", "name": "y"}}]}}
        """);

    private static (DataArray X, DataArray Y) Sample() =>
        (DataArray.Create(new byte[] { 0, 51, 102, 255, 255, 0, 0, 0, 10, 20, 30, 40 }, 3, 4), DataArray.Create(new byte[] { 2, 0, 1 }, 3));

    [Fact]
    public void AMissingDatasetPackageNamesTheDebianPackage()
    {
        var e = Assert.Throws<FileNotFoundException>(() => DataSources.Load("fashion-mnist:test", Model, builtinDirectory: Path.Combine(_dir.FullName, "absent")));
        Assert.Contains("dataset-fashion-mnist", e.Message);
        Assert.DoesNotContain("\n", e.Message);
    }

    [Fact]
    public void AnNpzWithXAndYIsReshapedToTheModelInputAndKeepsItsBytes()
    {
        var (x, y) = Sample();
        var path = Path.Combine(_dir.FullName, "d.npz");
        Npz.Write(path, new Dictionary<string, DataArray> { ["x"] = x, ["y"] = y });
        var loaded = DataSources.Load(path, Model, limit: 2);
        Assert.Equal([2, 2, 2], loaded.Data.Features.Shape);
        // Bytes stay bytes: the trainer's preprocessing contract scales 8-bit data (and folds it into the model).
        Assert.Equal(DType.UInt8, loaded.Data.Features.DType);
        Assert.Equal(51f, loaded.Data.Features.ToFloat32()[1]);
        Assert.Equal([2L, 0L], loaded.Data.Labels!.ToInt64());
    }

    [Fact]
    public void AnIdxPairLoadsImagesAndLabels()
    {
        var (x, y) = Sample();
        var images = Path.Combine(_dir.FullName, "images.idx");
        var labels = Path.Combine(_dir.FullName, "labels.idx");
        Idx.Write(images, x.Reshape(3, 2, 2));
        Idx.Write(labels, y);
        var loaded = DataSources.Load($"{images},{labels}", Model);
        Assert.Equal(3, loaded.Data.Count);
        Assert.Equal(255f, loaded.Data.Features.ToFloat32()[3]);
        Assert.Equal([2L, 0L, 1L], loaded.Data.Labels!.ToInt64());
    }

    [Fact]
    public void SamplesOfTheWrongSizeAreRefusedWithBothShapes()
    {
        var path = Path.Combine(_dir.FullName, "bad.npz");
        Npz.Write(path, new Dictionary<string, DataArray> { ["x"] = DataArray.Create(new float[6], 2, 3), ["y"] = DataArray.Create(new long[2], 2) });
        var e = Assert.Throws<InvalidDataException>(() => DataSources.Load(path, Model));
        Assert.Contains("[3]", e.Message);
        Assert.Contains("[2,2]", e.Message);
    }

    [Fact]
    public void AnImageFileAndAnImageFolderAreDecodedToTheModelInput()
    {
        var pixels = new float[2 * 2 * 3];
        pixels[0] = pixels[1] = pixels[2] = 255;   // one white pixel, the rest black
        var folder = Path.Combine(_dir.FullName, "images");
        foreach (var c in new[] { "cat", "dog" })
        {
            Directory.CreateDirectory(Path.Combine(folder, c));
            ImageFolder.Save(Path.Combine(folder, c, "a.png"), pixels, 2, 2, 3);
        }
        var one = DataSources.Load(Path.Combine(folder, "cat", "a.png"), Model, needLabels: false);
        Assert.Equal([1, 2, 2], one.Data.Features.Shape);
        Assert.Equal([255f, 0f, 0f, 0f], one.Data.Features.ToFloat32(), new FloatTolerance(0.01f));
        var all = DataSources.Load(folder, Model);
        Assert.Equal(2, all.Data.Count);
        Assert.Equal(["cat", "dog"], all.ClassNames!);
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float a, float b) => Math.Abs(a - b) <= tolerance;
        public int GetHashCode(float v) => 0;
    }
}
