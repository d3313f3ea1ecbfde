using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training.Execution;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Bench;

/// <summary>Train step of the seed IMDb model (Embedding(10000,128) → LSTM(64) → Dense(1, sigmoid), Adam) at several
/// sequence lengths, with and without dropout=recurrent_dropout=0.2, against PyTorch's (bench/lstm/torch_lstm.py) in
/// the same run. Every configuration runs in its own process so that peak memory (VmHWM / ru_maxrss) is its own.</summary>
public static class LstmBench
{
    private static readonly int[] DefaultLengths = [100, 200, 500];

    public static void Run(BenchOptions o, string[] args)
    {
        var lengths = Get(args, "--lengths") is { } l ? l.Split(',').Select(int.Parse).ToArray() : DefaultLengths;
        var form = Get(args, "--form") ?? "Scan";
        var weightGrad = Get(args, "--weight-grad") ?? "accumulate";
        var torchScript = Path.Combine(RepoRoot(), "bench", "lstm", "torch_lstm.py");
        var torchOk = TorchAvailable();
        if (!torchOk) Console.WriteLine("PyTorch: /usr/bin/python3 cannot import torch; the reference columns are skipped");
        Console.WriteLine($"seed IMDb model, batch {o.Batch}, {o.Threads} threads, {o.Steps} timed steps after 2 warm-up steps, CPU, form {form}, recurrent weight gradient {weightGrad}");
        Console.WriteLine($"{"length",6} {"dropout",7} | {"ours samples/s",14} {"peak MiB",9} {"nodes",6} | {"torch samples/s",15} {"peak MiB",9} | {"speed",6} {"memory",7}");
        foreach (var dropout in new[] { 0.0, 0.2 })
            foreach (var length in lengths)
            {
                var ours = Child(Environment.ProcessPath!, [.. SelfArgs(), "lstm-one", "--length", $"{length}", "--dropout", Inv(dropout),
                    "--batch", $"{o.Batch}", "--steps", $"{o.Steps}", "--threads", $"{o.Threads}", "--form", form, "--weight-grad", weightGrad, .. ProfileArgs(o)]);
                JsonElement? torch = torchOk
                    ? Child("/usr/bin/python3", [torchScript, $"{length}", $"{o.Batch}", $"{o.Steps}", $"{o.Threads}", Inv(dropout)])
                    : null;
                var ourRate = ours.GetProperty("samples_per_s").GetDouble();
                var ourMem = ours.GetProperty("peak_mib").GetDouble();
                var line = $"{length,6} {dropout,7:F1} | {ourRate,14:F1} {ourMem,9:F0} {ours.GetProperty("nodes").GetInt32(),6} | ";
                if (torch is { } t)
                {
                    var tr = t.GetProperty("samples_per_s").GetDouble();
                    var tm = t.GetProperty("peak_mib").GetDouble();
                    line += $"{tr,15:F1} {tm,9:F0} | {ourRate / tr,5:F2}x {ourMem / tm,6:F2}x";
                }
                Console.WriteLine(line);
            }
        if (torchOk) Console.WriteLine("PyTorch has no recurrent_dropout in nn.LSTM: its 0.2 row drops the embedded inputs only.");
    }

    /// <summary>One configuration in this process: prints a JSON line.</summary>
    public static void RunOne(BenchOptions o, string[] args)
    {
        var length = int.Parse(Get(args, "--length") ?? "200", CultureInfo.InvariantCulture);
        var dropout = double.Parse(Get(args, "--dropout") ?? "0", CultureInfo.InvariantCulture);
        var form = Enum.Parse<RecurrentForm>(Get(args, "--form") ?? "Scan");
        // The unrolled form needs a static length; the Scan form runs with an open one.
        var input = Input.Of([form == RecurrentForm.Decomposed ? length : null], dtype: DataType.Int64);
        var lstm = new LSTM(new LSTMConfig { Units = 64, Dropout = dropout, RecurrentDropout = dropout }) { Form = form };
        var model = new Functional(input, new Dense(1, "sigmoid").Apply(lstm.Apply(new Embedding(10000, 128).Apply(input))));
        var gradientOptions = new GradientOptions { ScanWeightGradientOutside = Get(args, "--weight-grad") == "outside" };
        var compiled = TrainingGraph.Compile(model, ["binary_crossentropy"], new Adam(),
            gradients: (g, loss, wrt) => Gradients.Build(g, loss, wrt, gradientOptions));
        if (Get(args, "--save") is { } save) File.WriteAllBytes(save, Google.Protobuf.MessageExtensions.ToByteArray(compiled.Model));
        var sig = compiled.Signature;
        var state = sig.Persistent.Select(p => (p.Input, p.Output!)).ToList();
        var device = new DeviceOptions
        {
            Kind = DeviceKind.Cpu, IntraOpThreads = o.Threads, EnableProfiling = o.Profile is not null,
            ProfilePrefix = o.Profile is null ? null : Path.Combine(o.Profile, $"lstm-{length}-{dropout}"),
        };
        if (o.Profile is not null) Directory.CreateDirectory(o.Profile);
        using var session = new StepSession(compiled.Model, new StepSignature([.. sig.Features, .. sig.Targets], state, [sig.LearningRate!, sig.Step!], [sig.LossOutput]),
            sig.Persistent.ToDictionary(p => p.Input, p => p.Initial()), device);
        var rng = new Random(1);
        var x = Enumerable.Range(0, o.Batch * length).Select(_ => (long)rng.Next(1, 10000)).ToArray();
        var y = Enumerable.Range(0, o.Batch).Select(_ => (float)rng.Next(2)).ToArray();
        session.SetBatch(sig.Features.Single(), x, [o.Batch, length]);
        session.SetBatch(sig.Targets.Single(), y, [o.Batch, 1]);
        session.SetScalar(sig.LearningRate!, 1e-3);
        for (var i = 0; i < 2; i++) { session.SetScalar(sig.Step!, session.Steps + 1); session.Step(); }
        var sw = Stopwatch.StartNew();
        float loss = 0;
        for (var i = 0; i < o.Steps; i++) { session.SetScalar(sig.Step!, session.Steps + 1); loss = session.Step()[0]; }
        var rate = o.Batch * o.Steps / sw.Elapsed.TotalSeconds;
        if (o.Profile is not null) Profile.Summarize($"length {length}, dropout {dropout}", session.EndProfiling());
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            samples_per_s = rate, peak_mib = PeakMiB(), nodes = compiled.Model.Graph.Node.Count, loss,
        }));
    }

    private static double PeakMiB()
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
        return double.NaN;
    }

    private static JsonElement Child(string file, IReadOnlyList<string> args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var lines = new List<string>();
        while (p.StandardOutput.ReadLine() is { } line) lines.Add(line);
        p.WaitForExit();
        foreach (var l in lines.Where(l => !l.StartsWith('{'))) Console.WriteLine("  " + l);
        var json = lines.LastOrDefault(l => l.StartsWith('{'))
            ?? throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed ({p.ExitCode}): {stderr.Result}");
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    private static bool TorchAvailable()
    {
        try
        {
            var psi = new ProcessStartInfo("/usr/bin/python3", "-c \"import torch\"") { RedirectStandardError = true, UseShellExecute = false };
            using var p = Process.Start(psi)!;
            p.WaitForExit();
            return p.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    }

    /// <summary>How to start this program again: the apphost directly, or `dotnet bench.dll`.</summary>
    private static string[] SelfArgs()
    {
        var entry = System.Reflection.Assembly.GetEntryAssembly()!.Location;
        return Path.GetFileNameWithoutExtension(Environment.ProcessPath!) == "dotnet" ? [entry] : [];
    }

    private static string[] ProfileArgs(BenchOptions o) => o.Profile is null ? [] : ["--profile", o.Profile];
    private static string Inv(double v) => v.ToString(CultureInfo.InvariantCulture);

    private static string? Get(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "NeuralService.sln"))) dir = dir.Parent;
        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
