namespace NeuralService.Training.Callbacks;

/// <summary>Stops when <see cref="MonitorName"/> has not improved by <see cref="MinDelta"/> for <see cref="Patience"/> epochs;
/// optionally restores the weights of the best epoch.</summary>
public sealed class EarlyStopping(string monitor = "val_loss", double minDelta = 0, int patience = 0, MonitorMode mode = MonitorMode.Auto,
    double? baseline = null, bool restoreBestWeights = false, int startFromEpoch = 0) : Callback
{
    private double _best;
    private int _wait;
    private TrainingSnapshot? _bestSnapshot;
    private bool _maximize;

    public string MonitorName => monitor;
    public double MinDelta => minDelta;
    public int Patience => patience;
    public int? StoppedEpoch { get; private set; }
    public int BestEpoch { get; private set; } = -1;

    public override void OnTrainBegin(ITrainingControl control)
    {
        _maximize = Monitor.Maximize(monitor, mode);
        _best = baseline ?? (_maximize ? double.NegativeInfinity : double.PositiveInfinity);
        _wait = 0;
        _bestSnapshot = null;
        StoppedEpoch = null;
    }

    public override void OnEpochEnd(ITrainingControl control, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (Monitor.Read(logs, monitor) is not { } current || epoch < startFromEpoch) return;
        _wait++;
        if (Monitor.Improved(current, _best, minDelta, _maximize))
        {
            _best = current;
            BestEpoch = epoch;
            _wait = 0;
            if (restoreBestWeights) _bestSnapshot = control.Snapshot();
            return;
        }
        if (_wait >= patience && epoch > 0)
        {
            StoppedEpoch = epoch;
            control.StopTraining = true;
            if (restoreBestWeights && _bestSnapshot is not null) control.Restore(_bestSnapshot);
        }
    }
}
