using System.Runtime.InteropServices;

namespace NeuralService.Inference.Engine;

/// <summary>Native memory in use by the process, for measuring what loading a model costs. ONNX Runtime allocates
/// through malloc, so on glibc <c>mallinfo2</c>'s in-use figures (heap chunks plus mmapped blocks, all arenas) see its
/// sessions, arenas and folded constants and nothing of the .NET heap, whose collections would otherwise blur the
/// figure. Elsewhere: the resident set minus the managed heap.</summary>
public static class NativeMemory
{
    private static int _mallinfo = 1; // 1 untried, 0 unavailable, 2 works

    /// <summary>How the figure is obtained: <c>mallinfo2</c> or <c>rss</c>.</summary>
    public static string Source
    {
        get
        {
            InUseBytes();
            return _mallinfo == 2 ? "mallinfo2" : "rss";
        }
    }

    public static long InUseBytes()
    {
        if (_mallinfo != 0 && OperatingSystem.IsLinux())
        {
            try
            {
                var m = MallInfo2();
                _mallinfo = 2;
                return (long)(m.Uordblks + m.Hblkhd);
            }
            catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
            {
                _mallinfo = 0;
            }
        }
        return ResidentBytes() - GC.GetTotalMemory(forceFullCollection: false);
    }

    /// <summary>The process's resident set size, from <c>/proc/self/statm</c> on Linux.</summary>
    public static long ResidentBytes()
    {
        try
        {
            var fields = File.ReadAllText("/proc/self/statm").Split(' ');
            return long.Parse(fields[1], System.Globalization.CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            using var p = System.Diagnostics.Process.GetCurrentProcess();
            return p.WorkingSet64;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct MallInfo2Struct
    {
        public nuint Arena, Ordblks, Smblks, Hblks, Hblkhd, Usmblks, Fsmblks, Uordblks, Fordblks, Keepcost;
    }

    [DllImport("libc.so.6", EntryPoint = "mallinfo2")]
    private static extern MallInfo2Struct MallInfo2();
}
