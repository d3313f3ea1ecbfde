namespace NeuralService.Graph.Core;

/// <summary>One dimension of a tensor shape: a known size, a named symbolic size (e.g. the batch), or unknown.</summary>
public readonly record struct Dim
{
    public long? Value { get; }
    public string? Symbol { get; }

    private Dim(long? value, string? symbol)
    {
        if (value is < 0) throw new ArgumentOutOfRangeException(nameof(value), value, "dimension must be >= 0");
        Value = value;
        Symbol = symbol;
    }

    public static Dim Of(long value) => new(value, null);
    public static Dim Sym(string symbol) => new(null, symbol);
    public static readonly Dim Unknown = new(null, null);
    public static readonly Dim Batch = Sym("batch");

    public bool IsKnown => Value.HasValue;
    public long Known => Value ?? throw new InvalidOperationException($"dimension {this} is not known statically");

    public static implicit operator Dim(long value) => Of(value);

    /// <summary>Product of two dims: known only when both are known; 1·d keeps d's symbol.</summary>
    public static Dim operator *(Dim a, Dim b) =>
        a.IsKnown && b.IsKnown ? Of(a.Known * b.Known) : a.Value == 1 ? b : b.Value == 1 ? a : Unknown;

    public override string ToString() => Value?.ToString() ?? Symbol ?? "?";
}

/// <summary>An immutable tensor shape of <see cref="Dim"/>s.</summary>
public sealed class Shape : IEquatable<Shape>
{
    private readonly Dim[] _dims;

    public Shape(IEnumerable<Dim> dims) => _dims = dims.ToArray();
    public static Shape Of(params long[] dims) => new(dims.Select(Dim.Of));
    public static Shape Of(params Dim[] dims) => new(dims);
    public static readonly Shape Scalar = new(Array.Empty<Dim>());

    /// <summary>A Keras shape: <c>null</c> entries become unknown dims, except the first which becomes the batch symbol when <paramref name="batchFirst"/>.</summary>
    public static Shape FromKeras(IEnumerable<int?> dims, bool batchFirst = true) =>
        new(dims.Select((d, i) => d is { } v ? Dim.Of(v) : i == 0 && batchFirst ? Dim.Batch : Dim.Unknown));

    /// <summary>A batch dim followed by the per-sample dims.</summary>
    public static Shape WithBatch(IEnumerable<int?> perSample, Dim? batch = null) =>
        new(new[] { batch ?? Dim.Batch }.Concat(perSample.Select(d => d is { } v ? Dim.Of(v) : Dim.Unknown)));

    public IReadOnlyList<Dim> Dims => _dims;
    public int Rank => _dims.Length;
    public Dim this[int axis] => _dims[axis < 0 ? axis + _dims.Length : axis];
    public bool IsFullyKnown => _dims.All(d => d.IsKnown);
    public long? ElementCount => IsFullyKnown ? _dims.Aggregate(1L, (p, d) => p * d.Known) : null;
    public long[] ToArray() => _dims.Select(d => d.Known).ToArray();
    /// <summary>Dims as Keras prints them: unknown as null.</summary>
    public int?[] ToKeras() => _dims.Select(d => d.Value is { } v ? (int?)v : null).ToArray();

    public Shape WithDim(int axis, Dim dim)
    {
        var copy = (Dim[])_dims.Clone();
        copy[axis < 0 ? axis + copy.Length : axis] = dim;
        return new Shape(copy);
    }

    public Shape Skip(int count) => new(_dims.Skip(count));
    public Shape Take(int count) => new(_dims.Take(count));
    public Shape Append(params Dim[] dims) => new(_dims.Concat(dims));
    public Shape Prepend(params Dim[] dims) => new(dims.Concat(_dims));

    public int NormalizeAxis(long axis)
    {
        var a = axis < 0 ? axis + Rank : axis;
        if (a < 0 || a >= Rank) throw new ArgumentOutOfRangeException(nameof(axis), axis, $"axis out of range for rank {Rank}");
        return (int)a;
    }

    public bool Equals(Shape? other) => other is not null && _dims.SequenceEqual(other._dims);
    public override bool Equals(object? obj) => Equals(obj as Shape);
    public override int GetHashCode() => _dims.Aggregate(17, (h, d) => h * 31 + d.GetHashCode());
    public override string ToString() => "[" + string.Join(", ", _dims) + "]";
    /// <summary>Keras's notation: <c>(None, 28, 28, 1)</c>.</summary>
    public string ToKerasString() =>
        "(" + string.Join(", ", _dims.Select(d => d.Value?.ToString() ?? "None")) + (Rank == 1 ? ",)" : ")");
}
