namespace NeuralService.Training.Data;

/// <summary>
/// Named datasets installed by Debian packages: <c>fashion-mnist</c> (train, 60000) and <c>fashion-mnist:test</c>
/// (10000), from <c>dataset-fashion-mnist</c>. Images are uint8 [n, 28, 28] (0..255, as Keras returns them),
/// labels uint8 [n] in 0..9.
/// </summary>
public static class BuiltinDatasets
{
    public const string FashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

    public static readonly IReadOnlyList<string> FashionMnistClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    public static IReadOnlyList<string> Names { get; } = ["fashion-mnist", "fashion-mnist:test"];

    /// <summary>Loads a named dataset fully into memory.</summary>
    public static InMemoryDataset Load(string name, string? directory = null)
    {
        var (images, labels) = Files(name, directory);
        var x = Idx.Read(images);
        var y = Idx.Read(labels);
        if (x.Count != y.Count) throw new DataFormatException($"{images} has {x.Count} images but {labels} has {y.Count} labels");
        return new InMemoryDataset(x, y, classNames: FashionMnistClasses);
    }

    /// <summary>Streams a named dataset (features float32, multiplied by <paramref name="scale"/>).</summary>
    public static IdxDataset Stream(string name, int batchSize = 32, int shuffleBuffer = 0, int seed = 0, float scale = 1f, string? directory = null)
    {
        var (images, labels) = Files(name, directory);
        return new IdxDataset(images, labels, batchSize, shuffleBuffer, seed, scale);
    }

    /// <summary>The images and labels files of a named dataset; a clear error when the package is not installed.</summary>
    public static (string Images, string Labels) Files(string name, string? directory = null)
    {
        string prefix = name switch
        {
            "fashion-mnist" or "fashion-mnist:train" => "train",
            "fashion-mnist:test" => "t10k",
            _ => throw new ArgumentException($"unknown dataset '{name}'; known: {string.Join(", ", Names)}", nameof(name)),
        };
        var dir = directory ?? FashionMnistDirectory;
        var images = Path.Combine(dir, $"{prefix}-images-idx3-ubyte.gz");
        var labels = Path.Combine(dir, $"{prefix}-labels-idx1-ubyte.gz");
        foreach (var f in new[] { images, labels })
            if (!File.Exists(f))
                throw new FileNotFoundException(
                    $"dataset '{name}' needs {f}, which is missing: install Debian's package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)", f);
        return (images, labels);
    }
}
