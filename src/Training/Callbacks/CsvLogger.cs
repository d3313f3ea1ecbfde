using System.Globalization;

namespace NeuralService.Training.Callbacks;

/// <summary>Appends one CSV row per epoch: <c>epoch,&lt;metrics in sorted order&gt;</c>, as Keras's CSVLogger.</summary>
public sealed class CsvLogger(string filename, string separator = ",", bool append = false) : Callback
{
    private string[]? _keys;

    public override void OnTrainBegin(ITrainingControl control)
    {
        _keys = null;
        if (!append && File.Exists(filename)) File.Delete(filename);
        if (append && File.Exists(filename))
            _keys = File.ReadLines(filename).FirstOrDefault()?.Split(separator).Skip(1).ToArray();
    }

    public override void OnEpochEnd(ITrainingControl control, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(filename))!);
        using var w = new StreamWriter(filename, append: true);
        if (_keys is null)
        {
            _keys = logs.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
            w.WriteLine(string.Join(separator, new[] { "epoch" }.Concat(_keys)));
        }
        w.WriteLine(string.Join(separator, new[] { epoch.ToString(CultureInfo.InvariantCulture) }
            .Concat(_keys.Select(k => logs.TryGetValue(k, out var v) ? v.ToString("R", CultureInfo.InvariantCulture) : "NA"))));
    }
}
