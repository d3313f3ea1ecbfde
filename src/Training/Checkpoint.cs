using NeuralService.Training.Callbacks;
using NeuralService.Training.Data;

namespace NeuralService.Training;

/// <summary>A training checkpoint as a NumPy <c>.npz</c>: every carried tensor (parameters, optimizer state,
/// BatchNorm statistics) under its graph name, plus <c>__step__</c>, <c>__epoch__</c> and <c>__learning_rate__</c>.
/// Written to a temporary name and renamed, so a killed run never leaves half a checkpoint.</summary>
public static class Checkpoint
{
    public static void Save(string path, TrainingSnapshot snapshot, string optimizer)
    {
        var arrays = snapshot.Tensors.ToDictionary(kv => kv.Key, kv => DataArray.Vector(kv.Value));
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
        var tensors = arrays.Where(kv => !kv.Key.StartsWith("__", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value.ToFloat32());
        return new TrainingSnapshot(tensors, Scalar("__step__"), (int)Scalar("__epoch__"), lr);
    }
}
