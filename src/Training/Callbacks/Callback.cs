namespace NeuralService.Training.Callbacks;

/// <summary>What callbacks may read and steer during <c>Fit</c>.</summary>
public interface ITrainingControl
{
    /// <summary>Current learning rate (a runtime input of the step graph, so changing it needs no rebuild).</summary>
    double LearningRate { get; set; }
    /// <summary>Set to end training after the current batch or epoch.</summary>
    bool StopTraining { get; set; }
    int Epochs { get; }
    long Step { get; }
    /// <summary>A host copy of every carried tensor (parameters, state, optimizer state) and the step count.</summary>
    TrainingSnapshot Snapshot();
    void Restore(TrainingSnapshot snapshot);
    /// <summary>Writes the current model as an inference ONNX file.</summary>
    void ExportModel(string path);
    void SaveCheckpoint(string path, int epoch);
}

/// <summary>Carried tensors by name, the optimizer step and the epoch they belong to.</summary>
public sealed record TrainingSnapshot(IReadOnlyDictionary<string, float[]> Tensors, long Step, int Epoch, double LearningRate);

/// <summary>Keras's callback hooks. Logs are metric name → value (validation metrics prefixed <c>val_</c>).</summary>
public abstract class Callback
{
    public virtual void OnTrainBegin(ITrainingControl control) { }
    public virtual void OnTrainEnd(ITrainingControl control, IReadOnlyDictionary<string, double> logs) { }
    public virtual void OnEpochBegin(ITrainingControl control, int epoch) { }
    public virtual void OnEpochEnd(ITrainingControl control, int epoch, IReadOnlyDictionary<string, double> logs) { }
    public virtual void OnBatchEnd(ITrainingControl control, int batch, int batches, IReadOnlyDictionary<string, double> logs) { }
}

/// <summary>Which way a monitored quantity improves (Keras's mode='auto' picks max for accuracy-like names).</summary>
public enum MonitorMode { Auto, Min, Max }

internal static class Monitor
{
    public static bool Maximize(string monitor, MonitorMode mode) => mode switch
    {
        MonitorMode.Max => true,
        MonitorMode.Min => false,
        _ => monitor.Contains("acc", StringComparison.Ordinal) || monitor.EndsWith("auc", StringComparison.Ordinal)
            || monitor.Contains("precision", StringComparison.Ordinal) || monitor.Contains("recall", StringComparison.Ordinal)
            || monitor.Contains("f1", StringComparison.Ordinal),
    };

    public static bool Improved(double current, double best, double minDelta, bool maximize) =>
        maximize ? current - Math.Abs(minDelta) > best : current + Math.Abs(minDelta) < best;

    public static double? Read(IReadOnlyDictionary<string, double> logs, string monitor) =>
        logs.TryGetValue(monitor, out var v) ? v : null;
}
