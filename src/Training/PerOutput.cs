namespace NeuralService.Training;

/// <summary>A compile argument of a multi-output model as Keras takes it (<c>loss</c>, <c>loss_weights</c>,
/// <c>metrics</c>): one value for every output, a list in output order, or a dict by output name.</summary>
public sealed class PerOutput<T>
{
    private readonly T? _all;
    private readonly IReadOnlyList<T>? _list;
    private readonly IReadOnlyDictionary<string, T>? _byName;

    private PerOutput(T? all, IReadOnlyList<T>? list, IReadOnlyDictionary<string, T>? byName)
    {
        _all = all;
        _list = list;
        _byName = byName;
    }

    /// <summary>The same value for every output.</summary>
    public static PerOutput<T> All(T value) => new(value ?? throw new ArgumentNullException(nameof(value)), null, null);

    /// <summary>One value per output, in the model's output order.</summary>
    public static PerOutput<T> ByOrder(IReadOnlyList<T> values) => new(default, values.ToList(), null);

    /// <summary>Values by output name; outputs not named get the default the argument has (Keras's).</summary>
    public static PerOutput<T> ByName(IReadOnlyDictionary<string, T> values) => new(default, null, new Dictionary<string, T>(values, StringComparer.Ordinal));

    public static implicit operator PerOutput<T>(T value) => All(value);
    public static implicit operator PerOutput<T>(Dictionary<string, T> values) => ByName(values);

    public bool IsAll => _list is null && _byName is null;
    public IReadOnlyList<T>? List => _list;
    public IReadOnlyDictionary<string, T>? Names => _byName;

    /// <summary>One value per output of <paramref name="outputNames"/>. <paramref name="argument"/> names the compile
    /// argument in errors; <paramref name="missing"/> gives the value of an output a dict leaves out (null: an error).</summary>
    public IReadOnlyList<T> Resolve(IReadOnlyList<string> outputNames, string argument, Func<string, T>? missing = null)
    {
        if (_list is { } list)
        {
            if (list.Count != outputNames.Count)
                throw new ArgumentException($"{argument}: the model has {outputNames.Count} output{(outputNames.Count == 1 ? "" : "s")} ({string.Join(", ", outputNames)}) but {list.Count} value{(list.Count == 1 ? " was" : "s were")} given");
            return list;
        }
        if (_byName is { } byName)
        {
            if (byName.Keys.FirstOrDefault(k => !outputNames.Contains(k)) is { } unknown)
                throw new ArgumentException($"{argument}: '{unknown}' is not an output of the model (outputs: {string.Join(", ", outputNames)})");
            return outputNames.Select(n => byName.TryGetValue(n, out var v) ? v
                : missing is not null ? missing(n)
                : throw new ArgumentException($"{argument}: no value for output '{n}' (outputs: {string.Join(", ", outputNames)})")).ToList();
        }
        return Enumerable.Repeat(_all!, outputNames.Count).ToList();
    }
}

/// <summary>Constructors of <see cref="PerOutput{T}"/> with the type inferred.</summary>
public static class PerOutput
{
    public static PerOutput<T> All<T>(T value) => PerOutput<T>.All(value);
    public static PerOutput<T> ByOrder<T>(IReadOnlyList<T> values) => PerOutput<T>.ByOrder(values);
    public static PerOutput<T> ByName<T>(IReadOnlyDictionary<string, T> values) => PerOutput<T>.ByName(values);
}
