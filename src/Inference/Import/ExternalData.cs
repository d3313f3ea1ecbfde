using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace NeuralService.Inference.Import;

/// <summary>Inlines external-data tensors into the model, accepting only files that resolve inside the model's own
/// directory: no absolute locations, no <c>..</c>, no symlinks leading out (CVE-2022-25882, CVE-2024-27318).
/// Stored models are therefore always single self-contained files.</summary>
public static class ExternalData
{
    public static bool HasExternal(ModelProto model) => Tensors(model.Graph).Any(IsExternal);

    /// <summary>Replaces every external reference with <c>raw_data</c>; <paramref name="modelDirectory"/> null
    /// (a model that arrived as bytes) refuses external data altogether.</summary>
    public static void Inline(ModelProto model, string? modelDirectory, ImportLimits limits)
    {
        var external = Tensors(model.Graph).Where(IsExternal).ToList();
        if (external.Count == 0) return;
        if (modelDirectory is null)
            throw new InvalidModelException($"tensor '{external[0].Name}' keeps its data in an external file, which is only accepted when importing from a file");
        var root = RealPath(modelDirectory) ?? throw new InvalidModelException($"model directory '{modelDirectory}' does not exist");
        long total = 0;
        foreach (var t in external)
        {
            var entries = t.ExternalData.ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
            if (!entries.TryGetValue("location", out var location) || location.Length == 0)
                throw new InvalidModelException($"tensor '{t.Name}': external data without a location");
            var path = Resolve(root, location, t.Name);
            var offset = ParseLong(entries, "offset", t.Name) ?? 0;
            var elementSize = NeuralService.Graph.Onnx.DataTypes.ByteSize((TensorProto.Types.DataType)t.DataType);
            if (elementSize == 0) throw new InvalidModelException($"tensor '{t.Name}': external string data is not supported");
            var needed = t.Dims.Aggregate(1L, (p, d) => p * d) * elementSize;
            var length = ParseLong(entries, "length", t.Name) ?? needed;
            if (length != needed)
                throw new InvalidModelException($"tensor '{t.Name}': external length {length} does not match its shape ({needed} bytes)");
            var fileLength = new FileInfo(path).Length;
            if (offset < 0 || offset + length > fileLength)
                throw new InvalidModelException($"tensor '{t.Name}': bytes {offset}..{offset + length} lie outside '{location}' ({fileLength} bytes)");
            total += length;
            if (total > limits.MaxModelBytes)
                throw new ModelTooLargeException($"external data adds up to more than {limits.MaxModelBytes} bytes");
            var bytes = new byte[length];
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read))
            {
                stream.Seek(offset, SeekOrigin.Begin);
                stream.ReadExactly(bytes);
            }
            t.RawData = ByteString.CopyFrom(bytes);
            t.ExternalData.Clear();
            t.DataLocation = TensorProto.Types.DataLocation.Default;
        }
    }

    private static string Resolve(string root, string location, string tensor)
    {
        if (location.Contains('\0') || location.Contains('\\') || Path.IsPathRooted(location))
            throw new InvalidModelException($"tensor '{tensor}': external data location '{location}' must be a relative path inside the model's directory");
        if (location.Split('/').Any(segment => segment == ".."))
            throw new InvalidModelException($"tensor '{tensor}': external data location '{location}' contains '..'");
        var joined = Path.GetFullPath(Path.Combine(root, location));
        if (!File.Exists(joined)) throw new InvalidModelException($"tensor '{tensor}': external data file '{location}' does not exist");
        // The lexical check above is not enough: a symlink inside the directory may point anywhere.
        var real = RealPath(joined) ?? throw new InvalidModelException($"tensor '{tensor}': cannot resolve '{location}'");
        if (!real.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal))
            throw new InvalidModelException($"tensor '{tensor}': external data location '{location}' resolves outside the model's directory");
        return real;
    }

    /// <summary>Whether <paramref name="path"/>, with every symlink resolved, lies inside <paramref name="directory"/>.</summary>
    public static bool IsInside(string directory, string path) =>
        RealPath(directory) is { } root && RealPath(path) is { } real && real.StartsWith(root.TrimEnd('/') + "/", StringComparison.Ordinal);

    private static long? ParseLong(Dictionary<string, string> entries, string key, string tensor)
    {
        if (!entries.TryGetValue(key, out var s)) return null;
        if (!long.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v))
            throw new InvalidModelException($"tensor '{tensor}': external data {key} '{s}' is not a non-negative integer");
        return v;
    }

    private static bool IsExternal(TensorProto t) => t.DataLocation == TensorProto.Types.DataLocation.External;

    /// <summary>Every tensor a model carries, including Constant attributes and subgraphs.</summary>
    public static IEnumerable<TensorProto> Tensors(GraphProto? graph)
    {
        if (graph is null) yield break;
        foreach (var t in graph.Initializer) yield return t;
        foreach (var s in graph.SparseInitializer)
        {
            if (s.Values is not null) yield return s.Values;
            if (s.Indices is not null) yield return s.Indices;
        }
        foreach (var node in graph.Node)
            foreach (var a in node.Attribute)
            {
                if (a.T is not null) yield return a.T;
                foreach (var t in a.Tensors) yield return t;
                foreach (var t in Tensors(a.G)) yield return t;
                foreach (var g in a.Graphs)
                    foreach (var t in Tensors(g)) yield return t;
            }
    }

    /// <summary>The canonical path with every symlink resolved (POSIX realpath), or null if it does not exist.</summary>
    private static string? RealPath(string path)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return File.Exists(path) || Directory.Exists(path) ? Path.GetFullPath(path) : null;
        var p = realpath(path, IntPtr.Zero);
        if (p == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(p); }
        finally { free(p); }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);
    [DllImport("libc")]
    private static extern void free(IntPtr p);
}
