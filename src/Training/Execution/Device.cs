using Microsoft.ML.OnnxRuntime;

namespace NeuralService.Training.Execution;

public enum DeviceKind { Auto, Cpu, Cuda }

/// <summary>Where sessions run. <see cref="DeviceKind.Auto"/> takes CUDA when its provider loads, else the CPU.</summary>
public sealed record DeviceOptions
{
    public DeviceKind Kind { get; init; } = DeviceKind.Auto;
    public int CudaDeviceId { get; init; }
    /// <summary>Replay whole steps as CUDA graphs (needs static shapes; CUDA only).</summary>
    public bool CudaGraphs { get; init; }
    /// <summary>CPU threads for one session; 0 takes one per CPU this process may use (<see cref="Environment.ProcessorCount"/>,
    /// container limits included). ONNX Runtime's own default ran steps on one thread on a 2-core VM, 17% slower than on two.</summary>
    public int IntraOpThreads { get; init; }
    public bool EnableProfiling { get; init; }
    public string? ProfilePrefix { get; init; }

    /// <summary>The device a user names: <c>auto</c>, <c>cpu</c>, <c>cuda</c> (or <c>gpu</c>) for CUDA device 0, and
    /// <c>cuda:N</c> (or <c>gpu:N</c>) for the GPU with index N, as ONNX Runtime and nvidia-smi number them. A
    /// <c>+graphs</c> suffix on a CUDA name (<c>cuda+graphs</c>, <c>cuda:1+graphs</c>) replays each step as a CUDA graph.</summary>
    public static DeviceOptions Parse(string? name)
    {
        var text = (name ?? "auto").Trim().ToLowerInvariant();
        if (text.EndsWith("+graphs", StringComparison.Ordinal) || text.EndsWith("+graph", StringComparison.Ordinal))
        {
            var plain = Parse(text[..text.LastIndexOf('+')]);
            if (plain.Kind != DeviceKind.Cuda)
                throw new ArgumentException($"device '{name}' is not valid: CUDA graphs need a CUDA device (cuda+graphs or cuda:N+graphs)");
            return plain with { CudaGraphs = true };
        }
        var colon = text.IndexOf(':');
        var kind = colon < 0 ? text : text[..colon];
        var index = 0;
        if (colon >= 0 && (kind is not ("cuda" or "gpu") || !int.TryParse(text[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index) || index > 1023))
            throw new ArgumentException($"device '{name}' is not valid: use auto, cpu, cuda or cuda:N with N the GPU index (0, 1, …)");
        return kind switch
        {
            "auto" => new DeviceOptions { Kind = DeviceKind.Auto },
            "cpu" => new DeviceOptions { Kind = DeviceKind.Cpu },
            "cuda" or "gpu" => new DeviceOptions { Kind = DeviceKind.Cuda, CudaDeviceId = index },
            _ => throw new ArgumentException($"device '{name}' is not valid: use auto, cpu, cuda or cuda:N with N the GPU index (0, 1, …)"),
        };
    }
}

/// <summary>Builds ONNX Runtime session options for a device and reports what it chose.</summary>
public static class Devices
{
    /// <summary>Session options for <paramref name="options"/>; <paramref name="chosen"/> says which device and why.</summary>
    /// <summary>Set to a path prefix, profiles every session built here (ONNX Runtime's Chrome-trace JSON, written when
    /// the session ends): how <c>scripts/gpu-check.sh</c> looks for host↔device copies in a step run by the CLI or a worker.</summary>
    public const string ProfileVariable = "NEURAL_ORT_PROFILE";

    private static int _warming;

    /// <summary>Starts loading ONNX Runtime's native library and environment on the thread pool, once per process:
    /// ~75 ms that the first session would otherwise wait for, spent while the caller builds its graph.</summary>
    public static void WarmUp()
    {
        if (Interlocked.Exchange(ref _warming, 1) == 0) _ = Task.Run(() => OrtEnv.Instance());
    }

    public static SessionOptions Create(DeviceOptions options, out DeviceKind chosen, out string reason)
    {
        if (options.CudaGraphs && options.Kind == DeviceKind.Cpu)
            throw new ArgumentException("CUDA graphs need a CUDA device: use cuda+graphs, or turn CUDA graphs off for the CPU");
        var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        so.IntraOpNumThreads = options.IntraOpThreads > 0 ? options.IntraOpThreads : Environment.ProcessorCount;
        // The memory pattern makes ONNX Runtime allocate one new block for a run's intermediates at the second run (planned
        // from the first) and fault it in page by page: the second step of a ResNet18 stage took 0.8 s instead of 0.5 s.
        // Without it the arena's blocks from the first run are reused; steady steps are as fast (bench, seed CNN).
        so.EnableMemoryPattern = false;
        var profile = options.EnableProfiling ? options.ProfilePrefix ?? "ort-profile" : Environment.GetEnvironmentVariable(ProfileVariable) is { Length: > 0 } p ? p : null;
        if (profile is not null)
        {
            // The prefix first: ONNX Runtime takes it when profiling is switched on.
            so.ProfileOutputPathPrefix = profile;
            so.EnableProfiling = true;
        }
        chosen = DeviceKind.Cpu;
        reason = "CPU requested";
        if (options.Kind == DeviceKind.Cpu) return so;
        try
        {
            using var cuda = new OrtCUDAProviderOptions();
            var settings = new Dictionary<string, string> { ["device_id"] = options.CudaDeviceId.ToString() };
            if (options.CudaGraphs) settings["enable_cuda_graph"] = "1";
            cuda.UpdateOptions(settings);
            so.AppendExecutionProvider_CUDA(cuda);
            chosen = DeviceKind.Cuda;
            reason = $"CUDA device {options.CudaDeviceId}{(options.CudaGraphs ? ", steps replayed as CUDA graphs" : "")}";
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            if (options.Kind == DeviceKind.Cuda)
            {
                so.Dispose();
                throw new InvalidOperationException($"CUDA was requested but its provider did not load: {FirstLine(e.Message)}. " +
                    "Run a build made with -p:UseCuda=true (Microsoft.ML.OnnxRuntime.Gpu.Linux, docs/GPU.md) on a machine whose CUDA and cuDNN 9 libraries are " +
                    "on the library path (LD_LIBRARY_PATH), or choose --device cpu", e);
            }
            reason = $"CUDA provider unavailable ({FirstLine(e.Message)}); running on CPU{(options.CudaGraphs ? " without CUDA graphs" : "")}";
        }
        return so;
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();
}
