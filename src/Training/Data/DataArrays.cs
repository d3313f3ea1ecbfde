namespace NeuralService.Training.Data;

/// <summary>
/// The arrays of one side of a dataset (features or targets), each holding the same samples: Keras's <c>x</c> or
/// <c>y</c> given as one array, a list (matched to the model's inputs/outputs by order) or a dict (matched by name).
/// </summary>
public sealed class DataArrays : IReadOnlyList<DataArray>
{
    private readonly DataArray[] _arrays;
    private readonly string[]? _names;

    private DataArrays(DataArray[] arrays, string[]? names)
    {
        if (arrays.Length == 0) throw new ArgumentException("at least one array is needed", nameof(arrays));
        for (var i = 0; i < arrays.Length; i++)
        {
            ArgumentNullException.ThrowIfNull(arrays[i], names is null ? $"arrays[{i}]" : names[i]);
            if (arrays[i].Count != arrays[0].Count)
                throw new ArgumentException($"array {Describe(names, i)} has {arrays[i].Count} samples but {Describe(names, 0)} has {arrays[0].Count}", nameof(arrays));
        }
        if (names is not null)
        {
            if (names.FirstOrDefault(string.IsNullOrWhiteSpace) is { } empty)
                throw new ArgumentException($"array names must not be empty, got '{empty}'", nameof(names));
            if (names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice)
                throw new ArgumentException($"array name '{twice.Key}' is given twice", nameof(names));
        }
        _arrays = arrays;
        _names = names;
    }

    /// <summary>Arrays matched by position (Keras's list; one array for a one-input model).</summary>
    public static DataArrays Of(params DataArray[] arrays) => new((DataArray[])arrays.Clone(), null);

    /// <summary>Arrays matched by the model's input or output names (Keras's dict), kept in the given order.</summary>
    public static DataArrays Named(IEnumerable<KeyValuePair<string, DataArray>> arrays)
    {
        var list = arrays.ToList();
        return new(list.Select(kv => kv.Value).ToArray(), list.Select(kv => kv.Key).ToArray());
    }

    public static DataArrays Named(params (string Name, DataArray Array)[] arrays) =>
        Named(arrays.Select(a => KeyValuePair.Create(a.Name, a.Array)));

    public static implicit operator DataArrays(DataArray array) => Of(array);

    /// <summary>Number of arrays.</summary>
    public int Count => _arrays.Length;

    public DataArray this[int index] => _arrays[index];

    /// <summary>The array named <paramref name="name"/>; only for arrays matched by name.</summary>
    public DataArray this[string name] =>
        TryGet(name, out var a) ? a : throw new KeyNotFoundException($"no array named '{name}' (arrays: {string.Join(", ", Labels)})");

    /// <summary>The names when matched by name, else null.</summary>
    public IReadOnlyList<string>? Names => _names;

    public bool ByName => _names is not null;

    /// <summary>Samples in each array.</summary>
    public int SampleCount => _arrays[0].Count;

    /// <summary>How each array is called in messages: its name, or its position.</summary>
    public IEnumerable<string> Labels => Enumerable.Range(0, Count).Select(i => Describe(_names, i));

    public bool TryGet(string name, out DataArray array)
    {
        var i = _names is null ? -1 : Array.IndexOf(_names, name);
        array = i >= 0 ? _arrays[i] : null!;
        return i >= 0;
    }

    /// <summary>Every array transformed by <paramref name="map"/> (which must keep the sample count), names kept.</summary>
    public DataArrays Select(Func<DataArray, int, DataArray> map) => new(_arrays.Select(map).ToArray(), _names);

    /// <summary>The samples at <paramref name="indices"/> of every array, in that order.</summary>
    public DataArrays Take(ReadOnlySpan<int> indices) => Take(indices, null);

    /// <summary>As <see cref="Take(ReadOnlySpan{int})"/>, refilling <paramref name="reuse"/>'s arrays where they fit
    /// (<see cref="DataArray.Take(ReadOnlySpan{int}, DataArray?)"/>).</summary>
    internal DataArrays Take(ReadOnlySpan<int> indices, DataArrays? reuse)
    {
        var taken = new DataArray[_arrays.Length];
        for (var i = 0; i < taken.Length; i++) taken[i] = _arrays[i].Take(indices, reuse is not null && reuse._arrays.Length == taken.Length ? reuse._arrays[i] : null);
        return reuse is not null && taken.AsSpan().SequenceEqual(reuse._arrays) ? reuse : new(taken, _names);
    }

    public DataArrays Slice(int start, int count) => Select((a, _) => a.Slice(start, count));

    /// <summary>
    /// The arrays in the order of <paramref name="names"/> (a model's input or output names): by name when these
    /// arrays are named, else by position. <paramref name="kind"/> ("input", "output") names what is matched in errors.
    /// </summary>
    public IReadOnlyList<DataArray> Match(IReadOnlyList<string> names, string kind)
    {
        if (_names is null)
        {
            if (_arrays.Length != names.Count)
                throw new ArgumentException($"the model has {names.Count} {kind}{(names.Count == 1 ? "" : "s")} ({string.Join(", ", names)}) but the data has {_arrays.Length} {kind} array{(_arrays.Length == 1 ? "" : "s")}");
            return _arrays;
        }
        var missing = names.Where(n => !_names.Contains(n)).ToList();
        if (missing.Count > 0)
            throw new ArgumentException($"no data for the model's {kind}{(missing.Count == 1 ? "" : "s")} {string.Join(", ", missing.Select(n => $"'{n}'"))} (data arrays: {string.Join(", ", _names)})");
        var extra = _names.Where(n => !names.Contains(n)).ToList();
        if (extra.Count > 0)
            throw new ArgumentException($"data array{(extra.Count == 1 ? "" : "s")} {string.Join(", ", extra.Select(n => $"'{n}'"))} match{(extra.Count == 1 ? "es" : "")} no {kind} of the model ({kind}s: {string.Join(", ", names)})");
        return names.Select(n => this[n]).ToList();
    }

    public IEnumerator<DataArray> GetEnumerator() => ((IEnumerable<DataArray>)_arrays).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Join(", ", Enumerable.Range(0, Count).Select(i => $"{Describe(_names, i)}: {_arrays[i]}"));

    private static string Describe(string[]? names, int i) => names is null ? $"#{i}" : $"'{names[i]}'";
}
