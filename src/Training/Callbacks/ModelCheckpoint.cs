using System.Globalization;
using System.Text.RegularExpressions;

namespace NeuralService.Training.Callbacks;

/// <summary>Saves a checkpoint (weights, optimizer state, step) after each epoch, or only when
/// <c>monitor</c> improves. The path may hold Keras placeholders: <c>{epoch:02d}</c>, <c>{val_loss:.2f}</c>.
/// Paths ending in <c>.onnx</c> save the inference model instead.</summary>
public sealed partial class ModelCheckpoint(string filepath, string monitor = "val_loss", bool saveBestOnly = false, MonitorMode mode = MonitorMode.Auto) : Callback
{
    private double _best;
    private bool _maximize;

    public List<string> Saved { get; } = [];

    public override void OnTrainBegin(ITrainingControl control)
    {
        _maximize = Monitor.Maximize(monitor, mode);
        _best = _maximize ? double.NegativeInfinity : double.PositiveInfinity;
    }

    public override void OnEpochEnd(ITrainingControl control, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (saveBestOnly)
        {
            if (Monitor.Read(logs, monitor) is not { } current || !Monitor.Improved(current, _best, 0, _maximize)) return;
            _best = current;
        }
        var path = Format(filepath, epoch + 1, logs);
        if (path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase)) control.ExportModel(path);
        else control.SaveCheckpoint(path, epoch + 1);
        Saved.Add(path);
    }

    /// <summary>Fills <c>{name}</c> / <c>{name:fmt}</c> with the epoch (1-based, as Keras prints it) or a log value.</summary>
    public static string Format(string pattern, int epoch, IReadOnlyDictionary<string, double> logs) =>
        Placeholder().Replace(pattern, m =>
        {
            var name = m.Groups[1].Value;
            var fmt = m.Groups[2].Success ? m.Groups[2].Value : "";
            if (name == "epoch")
            {
                var width = fmt.EndsWith('d') && int.TryParse(fmt[..^1], out var w) ? w : 0;
                return epoch.ToString(CultureInfo.InvariantCulture).PadLeft(width, fmt.StartsWith('0') ? '0' : ' ');
            }
            if (!logs.TryGetValue(name, out var v)) throw new KeyError($"checkpoint path names '{name}', which is not among the logs ({string.Join(", ", logs.Keys)})");
            return fmt.StartsWith('.') && fmt.EndsWith('f') ? v.ToString("F" + fmt[1..^1], CultureInfo.InvariantCulture) : v.ToString(CultureInfo.InvariantCulture);
        });

    [GeneratedRegex(@"\{(\w+)(?::([^}]*))?\}")]
    private static partial Regex Placeholder();
}

public sealed class KeyError(string message) : ArgumentException(message);
