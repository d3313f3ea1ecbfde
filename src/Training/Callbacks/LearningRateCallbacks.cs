namespace NeuralService.Training.Callbacks;

/// <summary>Sets the learning rate at the start of each epoch from <c>schedule(epoch, currentLr)</c>.</summary>
public sealed class LearningRateScheduler(Func<int, double, double> schedule) : Callback
{
    public override void OnEpochBegin(ITrainingControl control, int epoch)
    {
        var lr = schedule(epoch, control.LearningRate);
        if (double.IsNaN(lr) || lr < 0) throw new ArgumentException($"learning-rate schedule returned {lr} at epoch {epoch}");
        control.LearningRate = lr;
    }
}

/// <summary>Multiplies the learning rate by <c>factor</c> when <c>monitor</c> stalls for <c>patience</c> epochs.</summary>
public sealed class ReduceLROnPlateau(string monitor = "val_loss", double factor = 0.1, int patience = 10, MonitorMode mode = MonitorMode.Auto,
    double minDelta = 1e-4, int cooldown = 0, double minLr = 0) : Callback
{
    private double _best;
    private int _wait;
    private int _cooldown;
    private bool _maximize;

    public override void OnTrainBegin(ITrainingControl control)
    {
        if (factor >= 1) throw new ArgumentException($"ReduceLROnPlateau factor must be < 1, got {factor}");
        _maximize = Monitor.Maximize(monitor, mode);
        _best = _maximize ? double.NegativeInfinity : double.PositiveInfinity;
        _wait = _cooldown = 0;
    }

    public override void OnEpochEnd(ITrainingControl control, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (Monitor.Read(logs, monitor) is not { } current) return;
        if (_cooldown > 0) { _cooldown--; _wait = 0; }
        if (Monitor.Improved(current, _best, minDelta, _maximize)) { _best = current; _wait = 0; return; }
        if (_cooldown > 0 || ++_wait < patience) return;
        var lr = Math.Max(control.LearningRate * factor, minLr);
        if (lr < control.LearningRate) control.LearningRate = lr;
        _cooldown = cooldown;
        _wait = 0;
    }
}

/// <summary>Stops training as soon as a batch loss is NaN or infinite.</summary>
public sealed class TerminateOnNaN : Callback
{
    public int? StoppedAtBatch { get; private set; }

    public override void OnBatchEnd(ITrainingControl control, int batch, int batches, IReadOnlyDictionary<string, double> logs)
    {
        if (logs.TryGetValue("loss", out var loss) && !double.IsFinite(loss))
        {
            StoppedAtBatch = batch;
            control.StopTraining = true;
        }
    }
}
