using System.Diagnostics;
using System.Globalization;

namespace NeuralService.Training;

/// <summary>Keras's progress line: <c>120/469 [=====&gt;....] - ETA: 12s - loss: 0.4123 - accuracy: 0.8512</c>.
/// Redrawn in place on a terminal; on a pipe, one line per epoch.</summary>
public sealed class ProgressBar(TextWriter output, int? total, bool interactive)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TimeSpan? _lastDraw;
    private int _lastWidth;

    public static bool IsTerminal(TextWriter w) => ReferenceEquals(w, Console.Error) ? !Console.IsErrorRedirected
        : ReferenceEquals(w, Console.Out) && !Console.IsOutputRedirected;

    public void Update(int done, IReadOnlyDictionary<string, double> logs, bool final = false)
    {
        if (!interactive && !final) return;
        var now = _clock.Elapsed;
        if (!final && _lastDraw is { } last && now - last < TimeSpan.FromMilliseconds(100)) return;
        _lastDraw = now;
        var line = Format(done, logs, final);
        // A redrawn line shorter than the one before would leave its tail on screen.
        var padded = line.PadRight(_lastWidth);
        _lastWidth = line.Length;
        if (interactive) output.Write("\r" + padded + (final ? "\n" : ""));
        else output.WriteLine(line);
        output.Flush();
    }

    public string Format(int done, IReadOnlyDictionary<string, double> logs, bool final)
    {
        var elapsed = _clock.Elapsed.TotalSeconds;
        var head = total is { } t
            ? $"{done.ToString().PadLeft(t.ToString().Length)}/{t} [{Bar(done, t)}]"
            : $"{done}";
        var time = final || total is null || done == 0
            ? $"{elapsed:F0}s {elapsed * 1000 / Math.Max(1, done):F0}ms/step"
            : $"ETA: {elapsed / done * (total.Value - done):F0}s";
        var metrics = string.Concat(logs.Select(kv => $" - {kv.Key}: {kv.Value.ToString("F4", CultureInfo.InvariantCulture)}"));
        return $"{head} - {time}{metrics}";
    }

    private static string Bar(int done, int total)
    {
        const int width = 30;
        var filled = total == 0 ? width : (int)((long)done * width / total);
        return filled >= width ? new string('=', width) : new string('=', filled) + ">" + new string('.', width - filled - 1);
    }
}
