using NeuralService.Training.Callbacks;

namespace NeuralService.Training.Tests.Callbacks;

public sealed class CallbackTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("callbacks");
    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void EarlyStoppingWaitsPatienceEpochsAndRestoresTheBest()
    {
        var control = new FakeControl();
        var stop = new EarlyStopping(patience: 2, restoreBestWeights: true);
        var ran = control.Run(stop, 1.0, 0.5, 0.6, 0.7, 0.4, 0.3);
        Assert.Equal(4, ran);
        Assert.Equal(3, stop.StoppedEpoch);
        Assert.Equal(1, stop.BestEpoch);
        Assert.Equal(1f, control.Weight);
    }

    [Fact]
    public void EarlyStoppingHonoursMinDelta()
    {
        var control = new FakeControl();
        Assert.Equal(3, control.Run(new EarlyStopping(minDelta: 0.1, patience: 1), 1.0, 0.85, 0.8, 0.5));
    }

    [Fact]
    public void ReduceLrOnPlateauCutsTheRateAfterPatienceAndCooldown()
    {
        var control = new FakeControl();
        // Reductions at epochs 2, 4 and 6 (a cooldown epoch after each), floored at min_lr.
        control.Run(new ReduceLROnPlateau(factor: 0.5, patience: 2, cooldown: 1, minLr: 0.02), 1, 1, 1, 1, 1);
        Assert.Equal(0.025, control.LearningRate, 10);
        var longer = new FakeControl();
        longer.Run(new ReduceLROnPlateau(factor: 0.5, patience: 2, cooldown: 1, minLr: 0.02), 1, 1, 1, 1, 1, 1, 1, 1);
        Assert.Equal(0.02, longer.LearningRate, 10);
    }

    [Fact]
    public void MonitorGuardPassesLoggedNamesAndNamesTheMissingOne()
    {
        Assert.Equal(3, new FakeControl().Run(new MonitorGuard([("val_loss", "--monitor"), ("loss", "x")]), 3, 2, 1));
        var e = Assert.Throws<ArgumentException>(() => new FakeControl().Run(new MonitorGuard([("val_acc", "callbacks[1].config.monitor")]), 3, 2));
        Assert.Equal("callbacks[1].config.monitor 'val_acc' is not among the logs of epoch 1 (loss, val_loss): use one of them", e.Message);
    }

    [Fact]
    public void SchedulerSetsTheRatePerEpoch()
    {
        var control = new FakeControl();
        var seen = new List<double>();
        control.Run(new LearningRateScheduler((epoch, lr) => { seen.Add(lr); return 0.1 / (epoch + 1); }), 1, 1, 1);
        Assert.Equal([0.1, 0.1, 0.05], seen.Select(v => Math.Round(v, 10)));
    }

    [Fact]
    public void CheckpointSavesOnlyImprovementsWithFormattedNames()
    {
        var control = new FakeControl();
        var path = Path.Combine(_dir.FullName, "w-{epoch:02d}-{val_loss:.2f}.ckpt");
        var ckpt = new ModelCheckpoint(path, saveBestOnly: true);
        control.Run(ckpt, 0.9, 0.8, 0.85, 0.5);
        Assert.Equal(["w-01-0.90.ckpt", "w-02-0.80.ckpt", "w-04-0.50.ckpt"], ckpt.Saved.Select(Path.GetFileName));
        Assert.All(ckpt.Saved, p => Assert.True(File.Exists(p)));
    }

    [Fact]
    public void CheckpointToOnnxExportsTheModel()
    {
        var control = new FakeControl();
        control.Run(new ModelCheckpoint(Path.Combine(_dir.FullName, "best.onnx"), saveBestOnly: true), 0.9, 0.8);
        Assert.Equal(2, control.Exported.Count);
    }

    [Fact]
    public void CsvLoggerWritesAHeaderAndARowPerEpoch()
    {
        var file = Path.Combine(_dir.FullName, "log.csv");
        new FakeControl().Run(new CsvLogger(file), 0.5, 0.25);
        var lines = File.ReadAllLines(file);
        Assert.Equal(["epoch,loss,val_loss", "0,0.6,0.5", "1,0.35,0.25"], lines);
    }

    [Fact]
    public void TerminateOnNaNStopsAtTheBadBatch()
    {
        var control = new FakeControl();
        var cb = new TerminateOnNaN();
        cb.OnBatchEnd(control, 0, 10, new Dictionary<string, double> { ["loss"] = 1 });
        Assert.False(control.StopTraining);
        cb.OnBatchEnd(control, 1, 10, new Dictionary<string, double> { ["loss"] = double.NaN });
        Assert.True(control.StopTraining);
        Assert.Equal(1, cb.StoppedAtBatch);
    }

    [Fact]
    public void BackupIsWrittenEachEpochAndRemovedAtTheEnd()
    {
        var control = new FakeControl();
        var backup = new BackupAndRestore(_dir.FullName);
        backup.OnTrainBegin(control);
        backup.OnEpochEnd(control, 0, new Dictionary<string, double>());
        Assert.Equal(backup.BackupPath, backup.ResumeFrom);
        backup.OnTrainEnd(control, new Dictionary<string, double>());
        Assert.Null(backup.ResumeFrom);
    }
}
