using System.Text.Json;

namespace NeuralService.Training;

/// <summary>Keras's <c>History</c>: per-epoch values of the loss and every metric (validation ones prefixed <c>val_</c>).</summary>
public sealed class History
{
    public List<int> Epochs { get; } = [];
    public Dictionary<string, List<double>> Values { get; } = new(StringComparer.Ordinal);

    public IReadOnlyList<double> this[string metric] => Values.TryGetValue(metric, out var v) ? v : throw new KeyNotFoundException($"no metric '{metric}' in the history");

    public void Add(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        Epochs.Add(epoch);
        foreach (var (k, v) in logs)
        {
            if (!Values.TryGetValue(k, out var list)) Values[k] = list = [];
            list.Add(v);
        }
    }

    /// <summary>The history as Keras's <c>history.history</c> JSON object, plus the epoch numbers.</summary>
    public string ToJson() => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["epoch"] = Epochs,
        ["history"] = Values.ToDictionary(kv => kv.Key, kv => kv.Value.Select(v => double.IsFinite(v) ? (double?)v : null).ToList()),
    }, new JsonSerializerOptions { WriteIndented = true });
}
