using System.IO.Compression;

namespace NeuralService.Training.Data;

/// <summary>NumPy's .npz: a zip (stored or deflated) of .npy members, one per array name.</summary>
public static class Npz
{
    /// <summary>Every array in the archive, keyed by member name without ".npy".</summary>
    public static IReadOnlyDictionary<string, DataArray> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($".npz file not found: {path}", path);
        using var zip = ZipFile.OpenRead(path);
        var result = new Dictionary<string, DataArray>();
        foreach (var entry in zip.Entries)
        {
            if (entry.FullName.EndsWith('/')) continue;
            string key = entry.FullName.EndsWith(".npy", StringComparison.Ordinal) ? entry.FullName[..^4] : entry.FullName;
            using var s = entry.Open();
            result[key] = Npy.Read(s, $"{path}:{entry.FullName}");
        }
        return result;
    }

    /// <summary>Writes arrays as <c>name.npy</c> members; <paramref name="compress"/> = np.savez_compressed.</summary>
    public static void Write(string path, IReadOnlyDictionary<string, DataArray> arrays, bool compress = false)
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        foreach (var (name, array) in arrays)
        {
            var entry = zip.CreateEntry(name + ".npy", compress ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
            using var s = entry.Open();
            Npy.Write(s, array);
        }
    }

    /// <summary>Writes a raw member (e.g. a hand-made .npy header) — for tests of malformed archives.</summary>
    internal static void WriteRaw(string path, IReadOnlyDictionary<string, byte[]> members)
    {
        using var file = File.Create(path);
        using var zip = new ZipArchive(file, ZipArchiveMode.Create);
        foreach (var (name, bytes) in members)
        {
            using var s = zip.CreateEntry(name).Open();
            s.Write(bytes);
        }
    }
}
