using NeuralService.Training.Callbacks;

namespace NeuralService.Training.Tests.Callbacks;

/// <summary>A training loop stand-in whose "weights" are one number per epoch.</summary>
internal sealed class FakeControl : ITrainingControl
{
    public double LearningRate { get; set; } = 0.1;
    public bool StopTraining { get; set; }
    public int Epochs => 100;
    public long Step { get; set; }
    public float Weight { get; set; }
    public List<string> Exported { get; } = [];
    public List<(string Path, int Epoch)> Checkpoints { get; } = [];

    public TrainingSnapshot Snapshot() => new(new Dictionary<string, float[]> { ["w"] = [Weight] }, Step, 0, LearningRate);
    public void Restore(TrainingSnapshot snapshot) => Weight = snapshot.Tensors["w"][0];
    public void ExportModel(string path) => Exported.Add(path);
    public void SaveCheckpoint(string path, int epoch)
    {
        File.WriteAllText(path, epoch.ToString());
        Checkpoints.Add((path, epoch));
    }

    /// <summary>Runs epochs with the given validation losses until a callback stops training.</summary>
    public int Run(Callback callback, params double[] valLosses)
    {
        callback.OnTrainBegin(this);
        var epoch = 0;
        for (; epoch < valLosses.Length && !StopTraining; epoch++)
        {
            callback.OnEpochBegin(this, epoch);
            Weight = epoch;
            callback.OnEpochEnd(this, epoch, new Dictionary<string, double> { ["loss"] = valLosses[epoch] + 0.1, ["val_loss"] = valLosses[epoch] });
        }
        callback.OnTrainEnd(this, new Dictionary<string, double>());
        return epoch;
    }
}
