using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace NeuralService.Training.Execution;

/// <summary>Copies tensors between host and device memory by running Identity sessions on the device's provider: the
/// source bound as input, the (preallocated) destination bound as output. <c>OrtEnv.CopyTensors</c> would be the direct
/// call, but it failed on the H200 machine ("Data transfer implementation ... not found"); this works there
/// (docs/GPU.md). One session per list of element types; a <see cref="Copy"/> binds fixed buffers once and is rerun
/// every step.</summary>
internal sealed class DeviceTransfer : IDisposable
{
    private readonly DeviceOptions _device;
    private readonly Dictionary<string, InferenceSession> _sessions = new(StringComparer.Ordinal);
    private readonly RunOptions _run = new();

    public DeviceTransfer(DeviceOptions device) =>
        // Copies never replay as CUDA graphs (their buffers change) and are not what a step profile is about.
        _device = device with { CudaGraphs = false, EnableProfiling = false };

    /// <summary>A reusable copy of <paramref name="from"/>[i] into <paramref name="to"/>[i]; both lists stay owned by the caller.</summary>
    public Copy Bind(IReadOnlyList<OrtValue> from, IReadOnlyList<OrtValue> to)
    {
        if (from.Count != to.Count) throw new ArgumentException($"{from.Count} sources for {to.Count} destinations");
        var types = from.Select(v => v.GetTensorTypeAndShape().ElementDataType).ToList();
        var session = SessionFor(types);
        var binding = session.CreateIoBinding();
        for (var i = 0; i < from.Count; i++)
        {
            binding.BindInput($"in{i}", from[i]);
            binding.BindOutput($"out{i}", to[i]);
        }
        return new Copy(session, binding, _run);
    }

    /// <summary>One copy of each <paramref name="from"/>[i] into <paramref name="to"/>[i].</summary>
    public void CopyOnce(IReadOnlyList<OrtValue> from, IReadOnlyList<OrtValue> to)
    {
        if (from.Count == 0) return;
        using var copy = Bind(from, to);
        copy.Run();
    }

    private InferenceSession SessionFor(IReadOnlyList<TensorElementType> types)
    {
        var key = string.Join(",", types.Select(t => (int)t));
        if (_sessions.TryGetValue(key, out var session)) return session;
        using var options = Devices.Create(_device, out _, out _);
        session = new InferenceSession(IdentityModel(types).ToByteArray(), options);
        _sessions[key] = session;
        return session;
    }

    /// <summary>out_i = Identity(in_i), each of any shape (no shape given: one session serves every batch size and rank).</summary>
    internal static ModelProto IdentityModel(IReadOnlyList<TensorElementType> types)
    {
        var graph = new GraphProto { Name = "transfer" };
        for (var i = 0; i < types.Count; i++)
        {
            var type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)types[i] } };
            graph.Input.Add(new ValueInfoProto { Name = $"in{i}", Type = type });
            graph.Output.Add(new ValueInfoProto { Name = $"out{i}", Type = type.Clone() });
            graph.Node.Add(new NodeProto { OpType = "Identity", Name = $"copy{i}", Input = { $"in{i}" }, Output = { $"out{i}" } });
        }
        var model = new ModelProto { IrVersion = 8, ProducerName = "NeuralService", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    public void Dispose()
    {
        foreach (var s in _sessions.Values) s.Dispose();
        _sessions.Clear();
        _run.Dispose();
    }

    /// <summary>A bound copy between fixed buffers: <see cref="Run"/> returns when the destination holds the data (a
    /// session run synchronizes its provider's stream before it returns).</summary>
    internal sealed class Copy(InferenceSession session, OrtIoBinding binding, RunOptions run) : IDisposable
    {
        public void Run() => session.RunWithBinding(run, binding);

        public void Dispose() => binding.Dispose();
    }
}
