using System.Diagnostics;
using System.Text.Json.Nodes;
using Google.Protobuf;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using Onnx;

namespace NeuralService.Graph.Autodiff;

/// <summary>The float64 reference could not run: PyTorch (or the ONNX Python package) is not installed.</summary>
public sealed class GradCheckUnavailableException(string message) : GraphException(message);

/// <summary>Evaluates ONNX models in float64 outside ONNX Runtime, with tools/onnx-torch/onnx_torch.py (an ONNX
/// evaluator on PyTorch; the script is embedded in this assembly) run as one subprocess per batch of jobs. Tensors
/// travel as TensorProto files in a temporary directory.</summary>
public static class TorchReference
{
    /// <summary>One model to evaluate: named outputs, and optionally the scalar <see cref="PerturbOutput"/> with single
    /// elements of <see cref="Perturb"/>'s tensors (feeds or initializers) moved by each of <see cref="Offsets"/>.</summary>
    public sealed record Job(ModelProto Model, IReadOnlyDictionary<string, TensorProto> Feeds, IReadOnlyList<string> Outputs,
        string? PerturbOutput = null, IReadOnlyList<double>? Offsets = null, IReadOnlyDictionary<string, int[]>? Perturb = null);

    /// <summary>Outputs by name; per perturbed tensor a [checked elements × offsets] table of the perturbed output; or the
    /// reason the reference could not evaluate the job (an op or attribute it does not implement).</summary>
    public sealed record JobResult(IReadOnlyDictionary<string, TensorProto> Outputs, IReadOnlyDictionary<string, double[,]> Perturbed, string? Error = null);

    private const string ResourceName = "NeuralService.Graph.onnx_torch.py";

    /// <summary>The Python interpreter: $NEURAL_TORCH_PYTHON, else Debian's /usr/bin/python3 (where python3-torch
    /// installs), else python3 on the PATH.</summary>
    public static string Python =>
        Environment.GetEnvironmentVariable("NEURAL_TORCH_PYTHON") is { Length: > 0 } p ? p
        : File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, string?> Probes = new(StringComparer.Ordinal);

    /// <summary>Null when the reference can run with <paramref name="python"/> (default <see cref="Python"/>), else why
    /// not and what to install.</summary>
    public static string? Unavailable(string? python = null) => Probes.GetOrAdd(python ?? Python, Probe);

    private static string? Probe(string python)
    {
        try
        {
            var (code, _, err) = Exec(python, ["-c", "import torch, onnx, numpy"], TimeSpan.FromSeconds(60));
            return code == 0 ? null
                : $"the float64 reference needs PyTorch and the ONNX Python package ({python} -c \"import torch, onnx\" failed: {LastLine(err)}); install Debian's python3-torch and python3-onnx, or point NEURAL_TORCH_PYTHON at a Python that has them";
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return $"the float64 reference needs Python with PyTorch: '{python}' could not start ({e.Message}); install Debian's python3-torch and python3-onnx, or point NEURAL_TORCH_PYTHON at a Python that has them";
        }
    }

    /// <summary>Runs every job in one subprocess of <paramref name="python"/> (default <see cref="Python"/>); a job the
    /// reference cannot evaluate (an op it lacks) comes back with its <see cref="JobResult.Error"/>.</summary>
    public static IReadOnlyList<JobResult> Run(IReadOnlyList<Job> jobs, string? python = null)
    {
        if (jobs.Count == 0) return [];
        python ??= Python;
        if (Unavailable(python) is { } why) throw new GradCheckUnavailableException(why);
        var dir = Directory.CreateTempSubdirectory("neural-torch-");
        try
        {
            var request = new JsonArray();
            for (var j = 0; j < jobs.Count; j++)
            {
                var job = jobs[j];
                File.WriteAllBytes(Path.Combine(dir.FullName, $"j{j}.onnx"), job.Model.ToByteArray());
                var feeds = new JsonObject();
                var k = 0;
                foreach (var (name, tensor) in job.Feeds)
                {
                    var file = $"j{j}_f{k++}.pb";
                    File.WriteAllBytes(Path.Combine(dir.FullName, file), tensor.ToByteArray());
                    feeds[name] = file;
                }
                var entry = new JsonObject
                {
                    ["model"] = $"j{j}.onnx",
                    ["feeds"] = feeds,
                    ["outputs"] = new JsonArray(job.Outputs.Select(o => (JsonNode?)JsonValue.Create(o)).ToArray()),
                };
                if (job.PerturbOutput is { } loss && job.Perturb is { Count: > 0 } wrt)
                {
                    var table = new JsonObject();
                    foreach (var (name, indices) in wrt)
                        table[name] = new JsonArray(indices.Select(i => (JsonNode?)JsonValue.Create(i)).ToArray());
                    entry["perturb"] = new JsonObject
                    {
                        ["output"] = loss,
                        ["offsets"] = new JsonArray((job.Offsets ?? []).Select(o => (JsonNode?)JsonValue.Create(o)).ToArray()),
                        ["wrt"] = table,
                    };
                }
                request.Add(entry);
            }
            File.WriteAllText(Path.Combine(dir.FullName, "request.json"), new JsonObject { ["jobs"] = request }.ToJsonString());

            Serve(python, dir.FullName, TimeSpan.FromMinutes(30));
            var responsePath = Path.Combine(dir.FullName, "response.json");
            if (!File.Exists(responsePath)) throw new GraphException($"the float64 reference ({python} onnx_torch.py) wrote no response");
            var response = JsonNode.Parse(File.ReadAllText(responsePath))!["jobs"]!.AsArray();
            var results = new List<JobResult>();
            for (var j = 0; j < jobs.Count; j++)
            {
                var r = response[j]!;
                if (r["error"]?.GetValue<string>() is { } error)
                {
                    results.Add(new JobResult(new Dictionary<string, TensorProto>(), new Dictionary<string, double[,]>(), error));
                    continue;
                }
                var outputs = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
                foreach (var (name, file) in r["outputs"]!.AsObject())
                    outputs[name] = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir.FullName, file!.GetValue<string>())));
                var perturbed = new Dictionary<string, double[,]>(StringComparer.Ordinal);
                foreach (var (name, file) in r["perturb"]!.AsObject())
                {
                    var t = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir.FullName, file!.GetValue<string>())));
                    var flat = Tensors.ToDoubles(t);
                    var (rows, cols) = ((int)t.Dims[0], (int)t.Dims[1]);
                    var table = new double[rows, cols];
                    for (var a = 0; a < rows; a++)
                        for (var b = 0; b < cols; b++) table[a, b] = flat[a * cols + b];
                    perturbed[name] = table;
                }
                results.Add(new JobResult(outputs, perturbed));
            }
            return results;
        }
        finally
        {
            // NEURAL_TORCH_KEEP=1 leaves the request for rerunning by hand: python3 onnx_torch.py DIR
            if (Environment.GetEnvironmentVariable("NEURAL_TORCH_KEEP") != "1")
                try { dir.Delete(true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static (int Code, string Stdout, string Stderr) Exec(string file, IReadOnlyList<string> args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        // One thread per reference process: the machines that run the tests have few cores and many builders.
        info.Environment["OMP_NUM_THREADS"] = "1";
        using var process = Process.Start(info) ?? throw new GraphException($"could not start {file}");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new GraphException($"{file} did not finish within {timeout}");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>One long-lived <c>onnx_torch.py --serve</c> per Python (importing PyTorch takes seconds), fed one request
    /// directory at a time.</summary>
    private sealed class Server
    {
        public required Process Process { get; init; }
        public System.Text.StringBuilder Stderr { get; } = new();
    }

    private static readonly Dictionary<string, Server> Servers = new(StringComparer.Ordinal);
    private static readonly Lock ServerGate = new();

    private static void Serve(string python, string requestDirectory, TimeSpan timeout)
    {
        lock (ServerGate)
        {
            if (!Servers.TryGetValue(python, out var server) || server.Process.HasExited)
                Servers[python] = server = Start(python);
            Task<string?>? reply = null;
            try
            {
                server.Process.StandardInput.WriteLine(requestDirectory);
                server.Process.StandardInput.Flush();
                reply = server.Process.StandardOutput.ReadLineAsync();
                if (reply.Wait(timeout) && reply.Result == "done") return;
            }
            catch (IOException) { }
            Stop(python, server);
            string stderr;
            lock (server.Stderr) stderr = server.Stderr.ToString().Trim();
            throw new GraphException(reply is { IsCompleted: false }
                ? $"the float64 reference ({python} onnx_torch.py) did not answer within {timeout}"
                : $"the float64 reference ({python} onnx_torch.py) stopped: {stderr}");
        }
    }

    private static Server Start(string python)
    {
        var script = ScriptPath.Value;
        var info = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        info.ArgumentList.Add(script);
        info.ArgumentList.Add("--serve");
        // One thread per reference process: the machines that run the tests have few cores and many builders.
        info.Environment["OMP_NUM_THREADS"] = "1";
        var process = Process.Start(info) ?? throw new GraphException($"could not start {python}");
        var server = new Server { Process = process };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (server.Stderr)
                if (server.Stderr.Length < 64 * 1024) server.Stderr.AppendLine(e.Data);
        };
        process.BeginErrorReadLine();
        if (!_exitHooked)
        {
            _exitHooked = true;
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                lock (ServerGate)
                    foreach (var (p, s) in Servers.ToList()) Stop(p, s);
            };
        }
        return server;
    }

    private static bool _exitHooked;

    private static void Stop(string python, Server server)
    {
        Servers.Remove(python);
        try
        {
            server.Process.StandardInput.Close();
            if (!server.Process.WaitForExit(TimeSpan.FromSeconds(5))) server.Process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException) { }
        catch (IOException) { }
        server.Process.Dispose();
    }

    /// <summary>The embedded script, written once per content under the temp directory (named by its hash, so versions
    /// never collide and nothing accumulates).</summary>
    private static readonly Lazy<string> ScriptPath = new(() =>
    {
        using var resource = typeof(TorchReference).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"embedded resource {ResourceName} is missing");
        using var buffer = new MemoryStream();
        resource.CopyTo(buffer);
        var bytes = buffer.ToArray();
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))[..16];
        var path = Path.Combine(Path.GetTempPath(), $"neural-onnx-torch-{hash}.py");
        if (!File.Exists(path) || !File.ReadAllBytes(path).AsSpan().SequenceEqual(bytes))
        {
            var temporary = path + "." + Guid.NewGuid().ToString("N");
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, path, overwrite: true);
        }
        return path;
    });

    /// <summary>The op types the reference implements.</summary>
    public static IReadOnlySet<string> Ops(string? python = null)
    {
        python ??= Python;
        if (Unavailable(python) is { } why) throw new GradCheckUnavailableException(why);
        var (code, stdout, stderr) = Exec(python, [ScriptPath.Value, "--ops"], TimeSpan.FromMinutes(5));
        if (code != 0) throw new GraphException($"{python} onnx_torch.py --ops failed: {stderr.Trim()}");
        return JsonNode.Parse(stdout)!.AsArray().Select(n => n!.GetValue<string>()).ToHashSet(StringComparer.Ordinal);
    }

    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no output";
}
