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
    /// <summary>CPU threads for one session; 0 lets ONNX Runtime choose.</summary>
    public int IntraOpThreads { get; init; }
    public bool EnableProfiling { get; init; }
    public string? ProfilePrefix { get; init; }

    /// <summary>The device a user names: <c>auto</c>, <c>cpu</c>, <c>cuda</c> (or <c>gpu</c>) for CUDA device 0, and
    /// <c>cuda:N</c> (or <c>gpu:N</c>) for the GPU with index N, as ONNX Runtime and nvidia-smi number them.</summary>
    public static DeviceOptions Parse(string? name)
    {
        var text = (name ?? "auto").Trim().ToLowerInvariant();
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
    public static SessionOptions Create(DeviceOptions options, out DeviceKind chosen, out string reason)
    {
        var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (options.IntraOpThreads > 0) so.IntraOpNumThreads = options.IntraOpThreads;
        if (options.EnableProfiling)
        {
            so.EnableProfiling = true;
            so.ProfileOutputPathPrefix = options.ProfilePrefix ?? "ort-profile";
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
            reason = $"CUDA device {options.CudaDeviceId}";
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            if (options.Kind == DeviceKind.Cuda)
            {
                so.Dispose();
                throw new InvalidOperationException($"CUDA was requested but its provider did not load: {e.Message}", e);
            }
            reason = $"CUDA provider unavailable ({FirstLine(e.Message)}); running on CPU";
        }
        return so;
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();
}
