using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace NeuralService.Bench;

/// <summary><c>bench apps</c>: each application trained by NeuralService (<c>neural-apps</c>, a child process) and by
/// its PyTorch peer (<c>bench/apps/&lt;app&gt;.py</c>, same data, model, optimizer, batch and epochs), alternating sides
/// round by round because the CPU is shared and timings drift; prints a Markdown table of the metric and the seconds.</summary>
public static class AppsBench
{
    public static readonly IReadOnlyList<string> DefaultApps = ["fashion-cnn", "mnist-cnn", "imdb-lstm", "stock-lstm", "resnet-transfer"];

    /// <summary>Apps whose PyTorch script reads the arrays our app exports (<c>--export-data</c>), since their
    /// preprocessing (tokenizer, seeded split) would otherwise have to be replicated in Python.</summary>
    public static readonly IReadOnlySet<string> ExportingApps = new HashSet<string> { "imdb-lstm" };

    /// <summary>The environment variable that names the Python to run the PyTorch scripts with.</summary>
    public const string PythonVariable = "BENCH_PYTHON";

    public sealed record Options(IReadOnlyList<string> Apps, int? Epochs, int? Samples, int Seed, int Threads, int Rounds,
        IReadOnlyList<string> Pythons, string? AppsDll, string Out, IReadOnlyList<string> TorchArguments)
    {
        public static Options Parse(string[] args, string? pythonFromEnvironment)
        {
            string? Get(string name)
            {
                var i = Array.IndexOf(args, name);
                return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
            }
            int? Int(string name) => Get(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : null;
            var python = Get("--python") ?? (string.IsNullOrEmpty(pythonFromEnvironment) ? null : pythonFromEnvironment);
            // Debian's python3-torch lives in the system Python; a pyenv python3 first on PATH does not see it.
            IReadOnlyList<string> pythons = python is null ? ["python3", "/usr/bin/python3"] : [python];
            return new Options(Get("--apps") is { } apps ? apps.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) : DefaultApps,
                Int("--epochs"), Int("--samples"), Int("--seed") ?? 1, Int("--threads") ?? 2, Int("--rounds") ?? 2, pythons,
                Get("--apps-dll"), Get("--out") ?? Path.Combine(Path.GetTempPath(), "bench-apps"),
                Get("--torch-args")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? []);
        }

        /// <summary>The arguments both sides get.</summary>
        public List<string> CommonArguments()
        {
            var a = new List<string> { "--epochs", "", "--seed", Seed.ToString(CultureInfo.InvariantCulture) };
            if (Epochs is { } e) a[1] = e.ToString(CultureInfo.InvariantCulture);
            else a.RemoveRange(0, 2);
            if (Samples is { } s) a.AddRange(["--samples", s.ToString(CultureInfo.InvariantCulture)]);
            return a;
        }
    }

    /// <summary>One side's run: the metric, whole-process seconds (start-up and data loading included) and, when the
    /// side reports them, the training-only wall and CPU seconds (all threads); or why there is none.</summary>
    public sealed record Side(string? Metric, double? Value, double? WallSeconds, double? TrainSeconds, double? TrainCpuSeconds, int? Epochs, string? Note)
    {
        public static Side Missing(string note) => new(null, null, null, null, null, null, note);
    }

    public sealed record Row(string App, IReadOnlyList<Side> Ours, IReadOnlyList<Side> Theirs);

    /// <summary>The PyTorch script's result: its last non-empty stdout line, a JSON object
    /// <c>{"app","metric","value","train_seconds","epochs"}</c>.</summary>
    public static Side ParseTorchOutput(string stdout, double wallSeconds)
    {
        var last = stdout.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0);
        if (last is null) return Side.Missing("no output") with { WallSeconds = wallSeconds };
        try
        {
            using var doc = JsonDocument.Parse(last);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return Side.Missing("last line is not a JSON object") with { WallSeconds = wallSeconds };
            double? Num(string name) => root.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.Number ? p.GetDouble() : null;
            var metric = root.TryGetProperty("metric", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return new Side(metric, Num("value"), wallSeconds, Num("train_seconds"), Num("train_cpu_seconds"), (int?)Num("epochs"), metric is null ? "no metric named" : null);
        }
        catch (JsonException e)
        {
            return Side.Missing($"last line is not JSON ({e.Message.Split('.')[0]})") with { WallSeconds = wallSeconds };
        }
    }

    /// <summary>Our result from <c>DIR/&lt;app&gt;.json</c> (AppResult.ToJson). <paramref name="metric"/> is the one the
    /// PyTorch side named (accuracy or rmse); a metrics key equal to it or starting with it is taken (stock-lstm reports
    /// <c>rmse_dollars</c>). Without it: accuracy, else the first rmse key.</summary>
    public static Side ParseAppResult(string json, string? metric, double wallSeconds)
    {
        using var doc = JsonDocument.Parse(json);
        if (!doc.RootElement.TryGetProperty("metrics", out var metrics) || metrics.ValueKind != JsonValueKind.Object)
            return Side.Missing("no metrics") with { WallSeconds = wallSeconds };
        var values = metrics.EnumerateObject().Where(p => p.Value.ValueKind == JsonValueKind.Number).ToDictionary(p => p.Name, p => p.Value.GetDouble());
        string? Key(string name) => values.ContainsKey(name) ? name : values.Keys.FirstOrDefault(k => k.StartsWith(name, StringComparison.Ordinal));
        var key = metric is not null ? Key(metric) : Key("accuracy") ?? Key("rmse");
        var epochs = doc.RootElement.TryGetProperty("loss", out var loss) && loss.ValueKind == JsonValueKind.Array ? loss.GetArrayLength() : (int?)null;
        return new Side(metric ?? (key is null ? null : key.StartsWith("rmse", StringComparison.Ordinal) ? "rmse" : key), key is null ? null : values[key],
            wallSeconds, values.TryGetValue("train_s", out var t) ? t : null, values.TryGetValue("train_cpu_s", out var c) ? c : null, epochs, key is null ? $"no '{metric ?? "accuracy"}' in metrics" : null);
    }

    /// <summary>The first of <paramref name="pythons"/> that imports torch, or null with the reason of the last failure.</summary>
    public static (string? Python, string Reason) FindTorchPython(IReadOnlyList<string> pythons)
    {
        var reason = "no Python given";
        foreach (var python in pythons)
        {
            var (code, _, stderr, _) = Child(python, ["-c", "import torch"], null, quiet: true);
            if (code == 0) return (python, "");
            var line = stderr.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0) ?? $"exit code {code}";
            reason = $"{python}: {line}";
        }
        return (null, reason);
    }

    /// <summary>The Markdown table: per side the values of every round, separated by " / ", and the speed ratios of
    /// mean PyTorch seconds to mean NeuralService seconds (above 1: NeuralService is faster) of training wall time
    /// (whole process when a side lacks it) and of training CPU time.</summary>
    public static string FormatTable(IReadOnlyList<Row> rows)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| app | metric | NeuralService | PyTorch | NS train s | torch train s | NS process s | torch process s | speed (torch s / NS s) | NS train CPU s | torch train CPU s | CPU ratio |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            var metric = row.Theirs.Select(s => s.Metric).Concat(row.Ours.Select(s => s.Metric)).FirstOrDefault(m => m is not null) ?? "?";
            string Values(IReadOnlyList<Side> sides) => Join(sides, s => s.Value is { } v ? v.ToString(metric == "accuracy" ? "F4" : "F3", CultureInfo.InvariantCulture) : null);
            string Seconds(IReadOnlyList<Side> sides, Func<Side, double?> pick) => Join(sides, s => pick(s) is { } v ? v.ToString("F1", CultureInfo.InvariantCulture) : null);
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {row.App} | {metric} | {Values(row.Ours)} | {Values(row.Theirs)} | {Seconds(row.Ours, s => s.TrainSeconds)} | {Seconds(row.Theirs, s => s.TrainSeconds)} | {Seconds(row.Ours, s => s.WallSeconds)} | {Seconds(row.Theirs, s => s.WallSeconds)} | {Ratio(row)} | {Seconds(row.Ours, s => s.TrainCpuSeconds)} | {Seconds(row.Theirs, s => s.TrainCpuSeconds)} | {CpuRatio(row)} |");
        }
        return sb.ToString();
    }

    private static string Join(IReadOnlyList<Side> sides, Func<Side, string?> cell)
    {
        if (sides.Count == 0) return "–";
        if (sides.All(s => cell(s) is null)) return sides.Select(s => s.Note).FirstOrDefault(n => n is not null) ?? "–";
        return string.Join(" / ", sides.Select(s => cell(s) ?? "–"));
    }

    private static double? Mean(IEnumerable<double?> v) => v.All(x => x is not null) && v.Any() ? v.Average(x => x!.Value) : null;

    private static string CpuRatio(Row row) => (Mean(row.Theirs.Select(s => s.TrainCpuSeconds)), Mean(row.Ours.Select(s => s.TrainCpuSeconds))) is ({ } t, { } o) && o > 0
        ? string.Create(CultureInfo.InvariantCulture, $"{t / o:F2}×")
        : "–";

    private static string Ratio(Row row)
    {
        var train = (Mean(row.Theirs.Select(s => s.TrainSeconds)), Mean(row.Ours.Select(s => s.TrainSeconds)));
        if (train is ({ } t, { } o) && o > 0) return string.Create(CultureInfo.InvariantCulture, $"{t / o:F2}× (train)");
        var wall = (Mean(row.Theirs.Select(s => s.WallSeconds)), Mean(row.Ours.Select(s => s.WallSeconds)));
        if (wall is ({ } tw, { } ow) && ow > 0 && row.Theirs.All(s => s.Value is not null)) return string.Create(CultureInfo.InvariantCulture, $"{tw / ow:F2}× (process)");
        return "–";
    }

    public static int Run(string[] args)
    {
        var o = Options.Parse(args, Environment.GetEnvironmentVariable(PythonVariable));
        var root = RepoRoot();
        var dll = o.AppsDll ?? Path.Combine(root, "examples", "Applications", "bin", "Release", "net10.0", "neural-apps.dll");
        if (!File.Exists(dll))
        {
            Console.Error.WriteLine($"{dll} is missing: build it first (dotnet build examples/Applications/Applications.csproj -c Release) or pass --apps-dll");
            return 2;
        }
        Directory.CreateDirectory(o.Out);
        var (python, reason) = FindTorchPython(o.Pythons);
        if (python is null) Console.WriteLine($"PyTorch skipped: cannot import torch ({reason}); only the NeuralService column is run");
        var common = o.CommonArguments();
        Console.WriteLine($"bench apps: {string.Join(", ", o.Apps)}; {string.Join(' ', common)} --threads {o.Threads}; {o.Rounds} round(s), sides alternating; python {python ?? "none"}");
        var rows = new List<Row>();
        foreach (var app in o.Apps)
        {
            var script = Path.Combine(root, "bench", "apps", app.Replace('-', '_') + ".py");
            var hasScript = File.Exists(script);
            var data = Path.Combine(o.Out, app + "-data.npz");
            var ours = new List<Side>();
            var theirs = new List<Side>();
            for (var round = 0; round < o.Rounds; round++)
            {
                var dir = Path.Combine(o.Out, $"{app}-ns-{round}");
                Directory.CreateDirectory(dir);
                List<string> nsArgs = [dll, app, .. common, "--threads", o.Threads.ToString(CultureInfo.InvariantCulture), "--out", dir];
                if (ExportingApps.Contains(app) && hasScript && python is not null) nsArgs.AddRange(["--export-data", data]);
                var metric = theirs.Select(s => s.Metric).FirstOrDefault(m => m is not null);
                var (code, _, stderr, wall) = Child("dotnet", nsArgs, root);
                var file = Path.Combine(dir, app + ".json");
                ours.Add(code == 0 && File.Exists(file) ? ParseAppResult(File.ReadAllText(file), metric, wall) : Side.Missing($"failed ({LastLine(stderr)})"));
                Console.WriteLine($"  {app} NeuralService round {round + 1}: {Describe(ours[^1])}");
                if (python is null) { theirs.Add(Side.Missing("torch not importable")); continue; }
                if (!hasScript) { theirs.Add(Side.Missing("no PyTorch script")); continue; }
                List<string> pyArgs = [script, .. common, "--threads", o.Threads.ToString(CultureInfo.InvariantCulture), .. o.TorchArguments];
                if (ExportingApps.Contains(app)) pyArgs.AddRange(["--data", data]);
                var (pyCode, stdout, pyErr, pyWall) = Child(python, pyArgs, root);
                theirs.Add(pyCode == 0 ? ParseTorchOutput(stdout, pyWall) : Side.Missing($"failed ({LastLine(pyErr)})"));
                Console.WriteLine($"  {app} PyTorch round {round + 1}: {Describe(theirs[^1])}");
                // Our metric is read by the name the PyTorch side uses (rmse vs rmse_dollars), known only now.
                if (metric is null && theirs[^1].Metric is { } named)
                    for (var i = 0; i < ours.Count; i++)
                        if (File.Exists(Path.Combine(o.Out, $"{app}-ns-{i}", app + ".json")) && ours[i].WallSeconds is { } w)
                            ours[i] = ParseAppResult(File.ReadAllText(Path.Combine(o.Out, $"{app}-ns-{i}", app + ".json")), named, w);
            }
            rows.Add(new Row(app, ours, theirs));
        }
        Console.WriteLine();
        Console.Write(FormatTable(rows));
        return 0;
    }

    private static string Describe(Side s) => s.Value is { } v
        ? string.Create(CultureInfo.InvariantCulture, $"{s.Metric} {v:F4}, train {s.TrainSeconds:F1} s, process {s.WallSeconds:F1} s")
        : s.Note ?? "?";

    private static string LastLine(string text) => text.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.Length > 0) ?? "no output";

    /// <summary>Runs a child to completion; stderr is echoed (progress) unless quiet; seconds from start to exit.</summary>
    internal static (int Code, string Stdout, string Stderr, double Seconds) Child(string file, IEnumerable<string> args, string? workingDirectory, bool quiet = false)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (workingDirectory is not null) psi.WorkingDirectory = workingDirectory;
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var clock = Stopwatch.StartNew();
        Process process;
        try
        {
            process = Process.Start(psi)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (127, "", e.Message, 0);
        }
        using (process)
        {
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (stderr) stderr.AppendLine(e.Data);
                if (!quiet) Console.Error.WriteLine("    " + e.Data);
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            process.WaitForExit();
            return (process.ExitCode, stdout.ToString(), stderr.ToString(), clock.Elapsed.TotalSeconds);
        }
    }

    private static string RepoRoot()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            var dir = new DirectoryInfo(start);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NeuralService.sln"))) dir = dir.Parent;
            if (dir is not null) return dir.FullName;
        }
        throw new InvalidOperationException("NeuralService.sln not found above the current directory or the program");
    }
}
