using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using NeuralService.Training;
using NeuralService.Training.Callbacks;

namespace NeuralService.Cli.Commands;

/// <summary><c>neural train</c>'s Keras callbacks, validation data and <c>--resume</c>: the options, and what they become.</summary>
internal sealed class TrainCallbackOptions
{
    public readonly Option<int?> EarlyStopping = new("--early-stopping")
    {
        Description = "PATIENCE: stop after PATIENCE epochs without improvement of --monitor and keep the best epoch's weights " +
                      "(Keras's EarlyStopping(patience, restore_best_weights=True))",
    };

    public readonly Option<string?> ReduceLrOnPlateau = new("--reduce-lr-on-plateau")
    {
        Description = "PATIENCE[,FACTOR[,MIN_LR]]: multiply the learning rate by FACTOR (default 0.1, not below MIN_LR) after PATIENCE " +
                      "epochs without improvement of --monitor (Keras's ReduceLROnPlateau); history.json logs learning_rate",
    };

    public readonly Option<bool> CheckpointBest = new("--checkpoint-best")
    {
        Description = "Also write best.onnx and best.npz to --out: the model and checkpoint of the epoch with the best --monitor " +
                      "(Keras's ModelCheckpoint(save_best_only=True))",
    };

    public readonly Option<string?> Monitor = new("--monitor")
    {
        Description = "What --early-stopping, --reduce-lr-on-plateau and --checkpoint-best watch: loss, a metric, or val_ of either " +
                      "(default val_loss with validation data, else loss)",
    };

    public readonly Option<DirectoryInfo?> TensorBoard = new("--tensorboard")
    {
        Description = "Write TensorBoard event files (epoch_loss, epoch_<metric>, epoch_learning_rate) to DIR/train and DIR/validation",
    };

    public readonly Option<string?> ValidationData = new("--validation-data")
    {
        Description = "Evaluate on this data after every epoch (val_ metrics), preprocessed as --data; same forms as --data",
    };

    public readonly Option<DirectoryInfo?> Resume = new("--resume")
    {
        Description = "Continue the run written by neural train --out DIR: its model, compile settings, weights and optimizer state, up to " +
                      "--epochs in total, appending to its history (written back to DIR unless --out is given)",
    };

    public IEnumerable<Option> All => [EarlyStopping, ReduceLrOnPlateau, CheckpointBest, Monitor, TensorBoard, ValidationData, Resume];

    /// <summary>The callbacks asked for, in Keras's usual order; <paramref name="bestPath"/> is where
    /// <c>--checkpoint-best</c> keeps the best checkpoint while training runs.</summary>
    public List<Callback> Build(ParseResult parse, bool hasValidation, string bestPath)
    {
        var monitor = parse.GetValue(Monitor) ?? (hasValidation ? "val_loss" : "loss");
        var watching = parse.GetValue(EarlyStopping) is not null || parse.GetValue(ReduceLrOnPlateau) is not null || parse.GetValue(CheckpointBest);
        if (parse.GetValue(Monitor) is not null && !watching)
            throw new ArgumentException("--monitor is read by --early-stopping, --reduce-lr-on-plateau and --checkpoint-best; give one of them");
        if (watching && monitor.StartsWith("val_", StringComparison.Ordinal) && !hasValidation)
            throw new ArgumentException($"--monitor {monitor} needs validation data: give --validation-split or --validation-data, or --monitor {monitor[4..]}");
        var callbacks = new List<Callback>();
        if (parse.GetValue(ReduceLrOnPlateau) is { } plateau)
        {
            var (patience, factor, minLr) = Plateau(plateau);
            callbacks.Add(new ReduceLROnPlateau(monitor, factor, patience, minLr: minLr));
        }
        if (parse.GetValue(CheckpointBest)) callbacks.Add(new ModelCheckpoint(bestPath, monitor, saveBestOnly: true));
        if (parse.GetValue(EarlyStopping) is { } p)
            callbacks.Add(new EarlyStopping(monitor, patience: p >= 0 ? p : throw new ArgumentException($"--early-stopping takes a patience ≥ 0, got {p}"),
                restoreBestWeights: true));
        if (parse.GetValue(TensorBoard) is { } dir) callbacks.Add(new TensorBoard(dir.FullName));
        if (watching) callbacks.Insert(0, new MonitorGuard([(monitor, "--monitor")]));
        return callbacks;
    }

    /// <summary><c>PATIENCE[,FACTOR[,MIN_LR]]</c>.</summary>
    internal static (int Patience, double Factor, double MinLr) Plateau(string value)
    {
        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        var bad = $"--reduce-lr-on-plateau takes PATIENCE[,FACTOR[,MIN_LR]] (e.g. 2,0.5), got '{value}'";
        if (parts.Length > 3 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var patience)) throw new ArgumentException(bad);
        var factor = 0.1;
        if (parts.Length > 1 && !(double.TryParse(parts[1], NumberStyles.Float, CultureInfo.InvariantCulture, out factor) && factor is > 0 and < 1))
            throw new ArgumentException($"{bad}: FACTOR must be in (0, 1)");
        var minLr = 0.0;
        if (parts.Length > 2 && !(double.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out minLr) && minLr >= 0 && double.IsFinite(minLr)))
            throw new ArgumentException($"{bad}: MIN_LR must be a number ≥ 0");
        return (patience, factor, minLr);
    }

    /// <summary>What a stopped callback leaves to report: the epoch EarlyStopping stopped at and the best one (1-based).</summary>
    public static string? Summary(IEnumerable<Callback> callbacks) =>
        callbacks.OfType<EarlyStopping>().FirstOrDefault() is { StoppedEpoch: { } stopped } e
            ? $"stopped early at epoch {stopped + 1}, restored the weights of epoch {e.BestEpoch + 1}"
            : null;

    /// <summary>The history of a run written by <c>neural train</c> (<c>history.json</c>), to continue.</summary>
    public static History ReadHistory(string path)
    {
        var history = new History();
        if (!File.Exists(path)) return history;
        var root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        var epochs = root.GetProperty("epoch").EnumerateArray().Select(e => e.GetInt32()).ToList();
        var values = root.GetProperty("history").EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.Number ? v.GetDouble() : double.NaN).ToList());
        for (var i = 0; i < epochs.Count; i++)
            history.Add(epochs[i], values.Where(kv => i < kv.Value.Count).ToDictionary(kv => kv.Key, kv => kv.Value[i]));
        return history;
    }

    /// <summary><paramref name="earlier"/> followed by <paramref name="later"/>; a metric one of them lacks is NaN there (null in JSON).</summary>
    public static History Concat(History earlier, History later)
    {
        var keys = earlier.Values.Keys.Union(later.Values.Keys).ToList();
        var all = new History();
        foreach (var h in new[] { earlier, later })
            for (var i = 0; i < h.Epochs.Count; i++)
                all.Add(h.Epochs[i], keys.ToDictionary(k => k, k => h.Values.TryGetValue(k, out var v) && i < v.Count ? v[i] : double.NaN));
        return all;
    }
}
