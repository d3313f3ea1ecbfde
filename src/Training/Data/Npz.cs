using System.Globalization;
using System.IO.Compression;

namespace NeuralService.Training.Data;

/// <summary>NumPy's .npz: a zip (stored or deflated) of .npy members, one per array name.</summary>
public static class Npz
{
    /// <summary>Every array in the archive, keyed by member name without ".npy". <paramref name="maxBytes"/> bounds
    /// what all members together may expand to: each member's declared size (zip header and .npy header) is checked
    /// before anything is allocated, and the bytes actually inflated are counted, so a member whose zip header
    /// understates its size cannot expand past it either.</summary>
    public static IReadOnlyDictionary<string, DataArray> Read(string path, long maxBytes = long.MaxValue)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($".npz file not found: {path}", path);
        using var zip = ZipFile.OpenRead(path);
        var result = new Dictionary<string, DataArray>();
        var left = maxBytes;
        foreach (var entry in zip.Entries)
        {
            if (entry.FullName.EndsWith('/')) continue;
            string key = entry.FullName.EndsWith(".npy", StringComparison.Ordinal) ? entry.FullName[..^4] : entry.FullName;
            var name = $"{path}:{entry.FullName}";
            if (entry.Length > left)
                throw new DataTooLargeException($"{name}: the archive declares {entry.Length} bytes for this member, over the {maxBytes}-byte limit on decompressed data ({maxBytes - left} bytes already read)");
            using var s = new LimitedReadStream(entry.Open(), left, name);
            result[key] = Npy.Read(s, name, left);
            left -= s.BytesRead;
        }
        return result;
    }

    /// <summary>One side of a dataset archive, as Keras's <c>fit(x, y)</c> takes it: <c>x</c> (one array), <c>x0, x1, …</c>
    /// (a list, by the model's input order) or <c>x_&lt;name&gt;</c> (a dict, by the model's input names); the same with
    /// <c>y</c> for outputs. Null when the archive has none; two forms at once or a gap in the numbers is refused.</summary>
    public static DataArrays? Side(IReadOnlyDictionary<string, DataArray> arrays, string prefix, string path)
    {
        var numbered = new SortedDictionary<int, string>();
        var named = new List<string>();
        foreach (var key in arrays.Keys)
        {
            if (key.Length > prefix.Length && key.StartsWith(prefix, StringComparison.Ordinal) && key[prefix.Length..].All(char.IsAsciiDigit)
                && int.TryParse(key[prefix.Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var i))
                numbered[i] = key;
            else if (key.StartsWith(prefix + "_", StringComparison.Ordinal) && key.Length > prefix.Length + 1) named.Add(key);
        }
        var bare = arrays.ContainsKey(prefix);
        var forms = (bare ? 1 : 0) + (numbered.Count > 0 ? 1 : 0) + (named.Count > 0 ? 1 : 0);
        if (forms > 1)
            throw new DataFormatException($"{path} names its '{prefix}' arrays in more than one way ({string.Join(", ", (bare ? [prefix] : Array.Empty<string>()).Concat(numbered.Values).Concat(named))}); use {prefix}, or {prefix}0 {prefix}1 … by order, or {prefix}_<name> by name");
        if (bare) return DataArrays.Of(arrays[prefix]);
        if (numbered.Count > 0)
        {
            if (numbered.Keys.Select((k, i) => k == i).Any(ok => !ok))
                throw new DataFormatException($"{path} numbers its '{prefix}' arrays {string.Join(", ", numbered.Values)}; they must run {prefix}0, {prefix}1, … without gaps");
            return DataArrays.Of([.. numbered.Values.Select(k => arrays[k])]);
        }
        if (named.Count > 0) return DataArrays.Named(named.Select(k => KeyValuePair.Create(k[(prefix.Length + 1)..], arrays[k])));
        return null;
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
