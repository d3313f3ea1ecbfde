using NeuralService.Training.Callbacks;
using NeuralService.Training.Data;

namespace NeuralService.Training;

/// <summary>A training checkpoint as a NumPy <c>.npz</c>: every carried tensor (parameters, optimizer state,
/// BatchNorm statistics) as <c>NNNN:graph name</c>, plus <c>__step__</c>, <c>__epoch__</c> and <c>__learning_rate__</c>.
/// The position lets a checkpoint restore into the same architecture whose layers were named differently (as
/// Keras's automatic names differ between processes). Written to a temporary name and renamed, so a killed run
/// never leaves half a checkpoint.</summary>
public static class Checkpoint
{
    public static void Save(string path, TrainingSnapshot snapshot, string optimizer)
    {
        var arrays = snapshot.Tensors.Select((kv, i) => (Key: $"{i:D4}:{kv.Key}", kv.Value)).ToDictionary(e => e.Key, e => DataArray.Vector(e.Value));
        arrays["__step__"] = DataArray.Vector(new[] { snapshot.Step });
        arrays["__epoch__"] = DataArray.Vector(new[] { (long)snapshot.Epoch });
        arrays["__learning_rate__"] = DataArray.Vector(new[] { snapshot.LearningRate });
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var tmp = full + ".tmp";
        Npz.Write(tmp, arrays);
        File.Move(tmp, full, overwrite: true);
    }

    public static TrainingSnapshot Load(string path)
    {
        var arrays = Npz.Read(path);
        long Scalar(string key) => arrays.TryGetValue(key, out var a) ? a.ToInt64()[0] : throw new InvalidDataException($"checkpoint '{path}' has no {key}");
        var lr = arrays.TryGetValue("__learning_rate__", out var l) ? l.GetDouble(0) : throw new InvalidDataException($"checkpoint '{path}' has no __learning_rate__");
        var tensors = arrays.Where(kv => !kv.Key.StartsWith("__", StringComparison.Ordinal))
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .ToDictionary(kv => kv.Key[(kv.Key.IndexOf(':') + 1)..], kv => kv.Value.ToFloat32());
        return new TrainingSnapshot(tensors, Scalar("__step__"), (int)Scalar("__epoch__"), lr);
    }

    /// <summary>Maps a checkpoint onto carried tensors: by name when every name is present, else by position when the
    /// count and every size match.</summary>
    public static IReadOnlyDictionary<string, float[]> Match(TrainingSnapshot snapshot, IReadOnlyList<string> names, Func<string, int> sizeOf, string path)
    {
        if (names.All(snapshot.Tensors.ContainsKey)) return names.ToDictionary(n => n, n => snapshot.Tensors[n]);
        var stored = snapshot.Tensors.Values.ToList();
        if (stored.Count != names.Count)
            throw new InvalidDataException($"checkpoint '{path}' holds {stored.Count} tensors; this model carries {names.Count}");
        var result = new Dictionary<string, float[]>();
        for (var i = 0; i < names.Count; i++)
        {
            if (stored[i].Length != sizeOf(names[i]))
                throw new InvalidDataException($"checkpoint '{path}': tensor {i} has {stored[i].Length} values, '{names[i]}' needs {sizeOf(names[i])}");
            result[names[i]] = stored[i];
        }
        return result;
    }
}
