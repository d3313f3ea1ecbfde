using NeuralService.Inference.Registry;

namespace NeuralService.Inference.Tests.Support;

/// <summary>The test assembly's entry point. Under the test host it is never called; run as
/// <c>dotnet NeuralService.Inference.Tests.dll crash-writer DIR</c> it registers large models into the SQLite
/// registry in DIR forever, printing each committed version, until the crash test kills it.</summary>
public static class CrashWriter
{
    public const string Mode = "crash-writer";

    public static async Task<int> Main(string[] args)
    {
        if (args.Length != 2 || args[0] != Mode)
        {
            Console.Error.WriteLine($"usage: NeuralService.Inference.Tests {Mode} DATA_DIR");
            return 2;
        }
        using var registry = await ModelRegistry.OpenSqliteAsync(args[1]);
        Console.WriteLine("opened");
        for (var i = 0; ; i++)
        {
            // Distinct content every time (also across writer processes), so each version writes a new file.
            var v = await registry.RegisterAsync("big", TestModels.Large(1 << 20, i + Random.Shared.NextSingle()));
            Console.WriteLine($"committed {v.Version}");
        }
    }
}
