namespace NeuralService.Deploy.Tests.Support;

/// <summary>Paths in the repository the tests run from (found by walking up to NeuralService.sln).</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();
    public static string Deploy => Path.Combine(Root, "deploy");
    public static string Dockerfile => Path.Combine(Deploy, "Dockerfile");
    public static string DockerIgnore => Path.Combine(Root, ".dockerignore");
    public static string Overlay(string name) => Path.Combine(Deploy, "overlays", name);
    public static string Validator => Path.Combine(Root, "tools", "k8s-validate");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "NeuralService.sln"))) return dir.FullName;
        throw new InvalidOperationException($"NeuralService.sln not found above {AppContext.BaseDirectory}");
    }
}
