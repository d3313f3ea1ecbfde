namespace NeuralService.Training.Callbacks;

/// <summary>Ends training at the first epoch whose logs lack a monitored name, with the names there are. Keras only warns
/// and the callback then never acts, so a mistyped monitor (<c>val_acc</c> for <c>val_accuracy</c>) would silently run
/// every epoch; the names are only known once the first epoch has logged them.</summary>
/// <param name="monitors">Each monitored name and where it was set (<c>--monitor</c>, <c>callbacks[0].config.monitor</c>).</param>
public sealed class MonitorGuard(IReadOnlyList<(string Monitor, string Field)> monitors) : Callback
{
    public override void OnEpochEnd(ITrainingControl control, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        foreach (var (monitor, field) in monitors)
            if (!logs.ContainsKey(monitor))
                throw new ArgumentException($"{field} '{monitor}' is not among the logs of epoch {epoch + 1} " +
                                            $"({string.Join(", ", logs.Keys.Order(StringComparer.Ordinal))}): use one of them");
    }
}
