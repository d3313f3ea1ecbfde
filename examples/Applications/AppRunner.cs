using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace NeuralService.Applications;

/// <summary>Settings shared by the applications; <see cref="Quick"/> shrinks data and epochs for smoke tests.</summary>
public sealed record AppOptions
{
    public bool Quick { get; init; }
    public string OutputDirectory { get; init; } = "app-out";
    public int Seed { get; init; } = 1;
    public int? Epochs { get; init; }
    public int? Samples { get; init; }
    /// <summary>ONNX Runtime intra-op threads for training (0: its default), so a side-by-side run can match PyTorch's.</summary>
    public int Threads { get; init; }
    /// <summary>Where an application that supports it writes its prepared train/test arrays (.npz), so a reference
    /// implementation (bench/apps) trains on exactly the same data.</summary>
    public string? ExportData { get; init; }
    public TextWriter Log { get; init; } = Console.Error;
}

/// <summary>What an application reports: per-epoch training loss, final test metrics, the baseline it is compared
/// with, and the plot it drew.</summary>
public sealed record AppResult(string Name, IReadOnlyList<double> Loss, IReadOnlyDictionary<string, double> Metrics, IReadOnlyDictionary<string, double> Baseline, string? Plot)
{
    public TimeSpan Wall { get; set; }
    public string ToJson() => JsonSerializer.Serialize(new { name = Name, wall_s = Math.Round(Wall.TotalSeconds, 1), loss = Loss, metrics = Metrics, baseline = Baseline, plot = Plot },
        new JsonSerializerOptions { WriteIndented = true });
}

/// <summary><c>neural-apps fashion-cnn|mnist-cnn|text-lstm|imdb-lstm|stock-lstm|resnet-transfer [--quick] [--epochs n] [--samples n] [--seed n] [--threads n] [--export-data file.npz] [--out dir]</c>.</summary>
public static class AppRunner
{
    public static readonly IReadOnlyDictionary<string, Func<AppOptions, AppResult>> Apps = new Dictionary<string, Func<AppOptions, AppResult>>
    {
        ["fashion-cnn"] = FashionCnn.Run,
        ["mnist-cnn"] = MnistCnn.Run,
        ["text-lstm"] = TextLstm.Run,
        ["imdb-lstm"] = ImdbLstm.Run,
        ["stock-lstm"] = StockLstm.Run,
        ["resnet-transfer"] = ResNetTransfer.Run,
    };

    public static int Execute(string[] args)
    {
        if (args.Length == 0 || !Apps.TryGetValue(args[0], out var app))
        {
            Console.Error.WriteLine($"usage: neural-apps {string.Join("|", Apps.Keys)} [--quick] [--epochs n] [--samples n] [--seed n] [--threads n] [--export-data file.npz] [--out dir]");
            return 2;
        }
        var options = new AppOptions();
        for (var i = 1; i < args.Length; i++)
        {
            options = args[i] switch
            {
                "--quick" => options with { Quick = true },
                "--epochs" => options with { Epochs = int.Parse(args[++i], CultureInfo.InvariantCulture) },
                "--samples" => options with { Samples = int.Parse(args[++i], CultureInfo.InvariantCulture) },
                "--out" => options with { OutputDirectory = args[++i] },
                "--seed" => options with { Seed = int.Parse(args[++i], CultureInfo.InvariantCulture) },
                "--threads" => options with { Threads = int.Parse(args[++i], CultureInfo.InvariantCulture) },
                "--export-data" => options with { ExportData = args[++i] },
                _ => throw new ArgumentException($"unknown option '{args[i]}'"),
            };
        }
        Directory.CreateDirectory(options.OutputDirectory);
        var clock = Stopwatch.StartNew();
        var result = app(options);
        result.Wall = clock.Elapsed;
        var json = result.ToJson();
        File.WriteAllText(Path.Combine(options.OutputDirectory, args[0] + ".json"), json);
        Console.WriteLine(json);
        return 0;
    }
}
