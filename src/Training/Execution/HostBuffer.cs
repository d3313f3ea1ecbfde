using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace NeuralService.Training.Execution;

/// <summary>Native host memory for one carried float tensor. Buffers of 2 MiB and more are 2 MiB-aligned and advised as
/// transparent huge pages (Linux): first-touching fresh 4 KiB pages is the cost of setting up a large model's state
/// (on the 2-core VM measured, copying 34 MB into new 4 KiB pages took ~100 ms, into huge pages ~4 ms), and a
/// session's A and B sets plus optimizer moments are several times the model.</summary>
internal sealed unsafe partial class HostBuffer : IDisposable
{
    private const nuint HugePage = 2 << 20;
    private const int AdviseHugePages = 14; // MADV_HUGEPAGE
    private void* _data;

    public HostBuffer(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        Count = count;
        var bytes = (nuint)Math.Max(1, count) * sizeof(float);
        var large = bytes >= HugePage;
        if (large) bytes = (bytes + HugePage - 1) / HugePage * HugePage;
        _data = NativeMemory.AlignedAlloc(bytes, large ? HugePage : 64);
        // Advice only: where transparent huge pages are off, the buffer is ordinary memory.
        if (large && OperatingSystem.IsLinux()) _ = Madvise((nint)_data, bytes, AdviseHugePages);
    }

    public int Count { get; }

    /// <summary>Where the buffer starts: 2 MiB-aligned for buffers of 2 MiB and more.</summary>
    public nint Address => (nint)_data;

    public Span<float> Span => _data is null ? throw new ObjectDisposedException(nameof(HostBuffer)) : new Span<float>(_data, Count);

    /// <summary>A tensor over this memory (not copied); dispose it before the buffer.</summary>
    public OrtValue CreateValue(long[] dims) =>
        OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, dims, Address, (long)Count * sizeof(float));

    public void Dispose()
    {
        if (_data is null) return;
        NativeMemory.AlignedFree(_data);
        _data = null;
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(nint address, nuint length, int advice);
}
