namespace NeuralService.Graph.Tests.Support;

/// <summary>Locations of the repository and of the data shipped beside it.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Specs => Path.Combine(Root, "onnx-models", "specs");

    /// <summary>Real Keras configs: NEURAL_KERAS_CORPUS, else the project's shared folder beside the repository.</summary>
    public static string KerasCorpus =>
        Environment.GetEnvironmentVariable("NEURAL_KERAS_CORPUS") is { Length: > 0 } dir ? dir : Path.Combine(Root, "..", "shared", "keras-corpus");

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NeuralService.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("NeuralService.sln not found above the test directory");
    }
}
