namespace NeuralService.Training.Callbacks;

/// <summary>Keeps a checkpoint of the last finished epoch in <c>backupDir</c>; a run that was killed and is started
/// again with the same directory resumes from there (the trainer reads <see cref="ResumeFrom"/> before the first epoch).
/// The backup is removed when training ends (a killed run never gets there).</summary>
public sealed class BackupAndRestore(string backupDir, bool deleteOnTrainEnd = true) : Callback
{
    public const string FileName = "backup.ckpt";
    public string BackupPath => Path.Combine(backupDir, FileName);
    public string? ResumeFrom => File.Exists(BackupPath) ? BackupPath : null;

    public override void OnEpochEnd(ITrainingControl control, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        Directory.CreateDirectory(backupDir);
        control.SaveCheckpoint(BackupPath, epoch + 1);
    }

    public override void OnTrainEnd(ITrainingControl control, IReadOnlyDictionary<string, double> logs)
    {
        if (deleteOnTrainEnd && File.Exists(BackupPath)) File.Delete(BackupPath);
    }
}
