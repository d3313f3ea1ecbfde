namespace NeuralService.Graph.Tests.Support;

/// <summary>Locations of the repository and of the data shipped beside it.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Specs => Path.Combine(Root, "onnx-models", "specs");

    /// <summary>Real Keras configs: NEURAL_KERAS_CORPUS, else the copy in the repository (tests/data/keras-corpus).</summary>
    public static string KerasCorpus =>
        Environment.GetEnvironmentVariable("NEURAL_KERAS_CORPUS") is { Length: > 0 } dir ? dir : Path.Combine(Root, "tests", "data", "keras-corpus");

    /// <summary>The corpus's model files (<c>0*.json</c>, index.json excluded); throws when the folder or its index is
    /// missing so that no corpus test passes over nothing.</summary>
    public static string[] KerasCorpusFiles() => KerasCorpusFiles(KerasCorpus);

    public static string[] KerasCorpusFiles(string dir)
    {
        if (!File.Exists(Path.Combine(dir, "index.json")))
            throw new DirectoryNotFoundException($"the Keras corpus is missing: no index.json in {dir} (set NEURAL_KERAS_CORPUS or restore tests/data/keras-corpus)");
        var files = Directory.GetFiles(dir, "0*.json").Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0) throw new FileNotFoundException($"the Keras corpus at {dir} holds no 0*.json model files");
        return files;
    }

    /// <summary>The full path of one corpus file; throws naming it when it is missing.</summary>
    public static string KerasCorpusFile(string name)
    {
        var path = Path.Combine(KerasCorpus, name);
        return File.Exists(path) ? path : throw new FileNotFoundException($"Keras corpus file missing: {path} (set NEURAL_KERAS_CORPUS or restore tests/data/keras-corpus)");
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NeuralService.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("NeuralService.sln not found above the test directory");
    }
}
