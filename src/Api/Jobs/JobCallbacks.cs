using System.Globalization;
using System.Text.Json;
using NeuralService.Api.Errors;
using NeuralService.Training.Callbacks;

namespace NeuralService.Api.Jobs;

/// <summary>A job's <c>callbacks</c>: Keras-serialized callbacks (<c>{"class_name", "config"}</c>) read into the library's
/// callbacks. Every file a callback writes lands in the job's files directory under a name the config may choose but
/// never a path, so no client reaches outside it. Each error is a 400 naming the field (<c>callbacks[0].config.patience</c>).</summary>
public static class JobCallbacks
{
    /// <summary>Each supported class and the config keys it takes (Keras's argument names; <c>verbose</c> is accepted and
    /// ignored, as progress goes to the job's events).</summary>
    private static readonly Dictionary<string, string[]> Arguments = new(StringComparer.Ordinal)
    {
        ["EarlyStopping"] = ["monitor", "min_delta", "patience", "mode", "baseline", "restore_best_weights", "start_from_epoch", "verbose"],
        ["ReduceLROnPlateau"] = ["monitor", "factor", "patience", "mode", "min_delta", "cooldown", "min_lr", "verbose"],
        ["ModelCheckpoint"] = ["filepath", "monitor", "save_best_only", "mode", "verbose"],
        ["TensorBoard"] = ["log_dir"],
        ["CSVLogger"] = ["filename", "separator", "append"],
        ["TerminateOnNaN"] = [],
    };

    public static IReadOnlyCollection<string> Classes => Arguments.Keys;

    /// <summary>Where ModelCheckpoint files go, inside the job's files directory.</summary>
    public const string CheckpointFolder = "checkpoints";

    /// <summary>Checks every callback at submit: the class, each config key and value, and that a <c>val_</c> monitor has
    /// validation data to read.</summary>
    public static void Check(IReadOnlyList<CallbackSpec>? specs, bool hasValidation) =>
        Build(specs, Path.Combine(Path.GetTempPath(), "unused"), hasValidation);

    /// <summary>The callbacks, writing under <paramref name="directory"/>.</summary>
    public static IReadOnlyList<Callback> Build(IReadOnlyList<CallbackSpec>? specs, string directory, bool hasValidation)
    {
        if (specs is null) return [];
        if (specs.Count > 16) throw ApiException.BadRequest($"callbacks: at most 16 callbacks, got {specs.Count}");
        var monitors = new List<(string, string)>();
        var callbacks = specs.Select((s, i) => Build(s, $"callbacks[{i}]", directory, hasValidation, monitors)).ToList();
        return monitors.Count == 0 ? callbacks : [new MonitorGuard(monitors), .. callbacks];
    }

    private static Callback Build(CallbackSpec? spec, string field, string directory, bool hasValidation, List<(string, string)> monitors)
    {
        if (spec is null) throw ApiException.BadRequest($"{field} must be an object {{\"class_name\": …, \"config\": {{…}}}}");
        if (spec.ClassName is null || !Arguments.TryGetValue(spec.ClassName, out var keys))
            throw ApiException.BadRequest($"{field}.class_name '{spec.ClassName}' is not a supported callback; use one of {string.Join(", ", Classes)}");
        var c = new Config(spec.ClassName, spec.Config, field, keys);
        string Monitor()
        {
            var monitor = c.String("monitor", "val_loss");
            if (monitor.StartsWith("val_", StringComparison.Ordinal) && !hasValidation)
                throw ApiException.BadRequest($"{field}.config.monitor '{monitor}' needs validation data: set fit.validation_split or validation_dataset, " +
                                              $"or monitor '{monitor[4..]}'");
            monitors.Add((monitor, $"{field}.config.monitor"));
            return monitor;
        }
        Callback callback = spec.ClassName switch
        {
            "EarlyStopping" => new EarlyStopping(Monitor(), c.Double("min_delta", 0, min: 0), c.Int("patience", 0, min: 0), c.Mode(),
                c.NullableDouble("baseline"), c.Bool("restore_best_weights", false), c.Int("start_from_epoch", 0, min: 0)),
            "ReduceLROnPlateau" => new ReduceLROnPlateau(Monitor(), c.Factor(), c.Int("patience", 10, min: 0), c.Mode(),
                c.Double("min_delta", 1e-4, min: 0), c.Int("cooldown", 0, min: 0), c.Double("min_lr", 0, min: 0)),
            "ModelCheckpoint" => Checkpoint(c, directory, Monitor),
            "TensorBoard" => new TensorBoard(Path.Combine(directory, c.FileName("log_dir", "tensorboard", extensions: null))),
            "CSVLogger" => new CsvLogger(Path.Combine(directory, c.FileName("filename", "training.csv", [".csv", ".log", ".txt"])),
                c.String("separator", ","), c.Bool("append", false)),
            _ => new TerminateOnNaN(),
        };
        return callback;
    }

    private static ModelCheckpoint Checkpoint(Config c, string directory, Func<string> monitor)
    {
        var name = c.FileName("filepath", "model-{epoch:02d}.onnx", [".onnx", ".ckpt", ".npz"]);
        var saveBestOnly = c.Bool("save_best_only", false);
        var mon = saveBestOnly || c.Has("monitor") ? monitor() : "val_loss";
        return new ModelCheckpoint(Path.Combine(directory, CheckpointFolder, name), mon, saveBestOnly, c.Mode());
    }

    /// <summary>Reads one callback's config, remembering the keys read so that any other key is refused.</summary>
    private sealed class Config
    {
        private readonly string _field;
        private readonly Dictionary<string, JsonElement> _values = new(StringComparer.Ordinal);

        /// <summary>Refuses any key <paramref name="className"/> does not take before any value is read, so a mistyped
        /// name is reported as such rather than as the default it left in place.</summary>
        public Config(string className, JsonElement? config, string field, string[] keys)
        {
            _field = field;
            if (config is not { } e || e.ValueKind == JsonValueKind.Null) return;
            if (e.ValueKind != JsonValueKind.Object) throw ApiException.BadRequest($"{field}.config must be an object of {className}'s arguments, got {e.GetRawText()}");
            foreach (var p in e.EnumerateObject())
            {
                if (!keys.Contains(p.Name, StringComparer.Ordinal))
                    throw ApiException.BadRequest($"{field}.config.{p.Name} is not an argument {className} takes here; " +
                                                  (keys.Length == 0 ? "it takes none" : $"it takes {string.Join(", ", keys.Where(k => k != "verbose"))}"));
                _values[p.Name] = p.Value;
            }
        }

        private string Key(string key) => $"{_field}.config.{key}";

        public bool Has(string key) => _values.ContainsKey(key);

        private JsonElement? Get(string key) => _values.TryGetValue(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

        public string String(string key, string fallback) => Get(key) is not { } v ? fallback
            : v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s ? s
            : throw ApiException.BadRequest($"{Key(key)} must be a non-empty string, got {v.GetRawText()}");

        public bool Bool(string key, bool fallback) => Get(key) is not { } v ? fallback
            : v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean()
            : throw ApiException.BadRequest($"{Key(key)} must be true or false, got {v.GetRawText()}");

        public double? NullableDouble(string key) => Get(key) is { } v ? Number(key, v, double.NegativeInfinity) : null;

        public double Double(string key, double fallback, double min) => Get(key) is { } v ? Number(key, v, min) : fallback;

        public int Int(string key, int fallback, int min) => Get(key) is not { } v ? fallback
            : v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var i) && i >= min && i <= 100_000 ? i
            : throw ApiException.BadRequest($"{Key(key)} must be a whole number in {min}..100000, got {v.GetRawText()}");

        private double Number(string key, JsonElement v, double min) =>
            v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d) && d >= min ? d
                : throw ApiException.BadRequest($"{Key(key)} must be a finite number{(double.IsFinite(min) ? $" ≥ {min.ToString(CultureInfo.InvariantCulture)}" : "")}, got {v.GetRawText()}");

        /// <summary>Keras's <c>factor</c>: the learning rate is multiplied by it, so it must lie in (0, 1).</summary>
        public double Factor()
        {
            var f = Double("factor", 0.1, min: 0);
            return f is > 0 and < 1 ? f : throw ApiException.BadRequest($"{Key("factor")} must be in (0, 1) (the learning rate is multiplied by it), got {f.ToString(CultureInfo.InvariantCulture)}");
        }

        public MonitorMode Mode() => String("mode", "auto") switch
        {
            "auto" => MonitorMode.Auto,
            "min" => MonitorMode.Min,
            "max" => MonitorMode.Max,
            var m => throw ApiException.BadRequest($"{Key("mode")} must be auto, min or max, got '{m}'"),
        };

        /// <summary>A plain file or folder name (Keras placeholders such as <c>{epoch:02d}</c> allowed) inside the job's
        /// directory: no separators, no <c>..</c>, and one of <paramref name="extensions"/> when given.</summary>
        public string FileName(string key, string fallback, string[]? extensions)
        {
            var name = String(key, fallback);
            var plain = name.Length <= 100 && name != "." && !name.Contains("..", StringComparison.Ordinal)
                && name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_' or '.' or '{' or '}' or ':');
            if (!plain)
                throw ApiException.BadRequest($"{Key(key)} '{name}' must be a plain file name (letters, digits, - _ . and {{epoch:02d}}-style placeholders); " +
                                              "files are written inside the job's directory and listed in the job's 'files'");
            if (extensions is not null && !extensions.Any(x => name.EndsWith(x, StringComparison.OrdinalIgnoreCase)))
                throw ApiException.BadRequest($"{Key(key)} '{name}' must end in {string.Join(", ", extensions)}");
            return name;
        }
    }
}
