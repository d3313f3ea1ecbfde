using NeuralService.Graph.Keras;

namespace NeuralService.Graph.Layers;

/// <summary>A layer variable: shape, current values (float32), and how it was initialized, regularized and constrained.
/// Values made by an initializer are filled when first read, so a model can be read, checked and sized (parameter
/// counts, memory budgets) without allocating its weights, and drawn from the seed a trainer gives
/// (<see cref="SeedInitializer"/>).</summary>
public sealed class Weight
{
    private readonly Lock _fill = new();
    private Func<int, float[]>? _draw;
    private int _seed;
    private float[]? _data;

    public Weight(Layer owner, string shortName, long[] shape, float[] data, bool trainable,
        ObjectSpec? initializer = null, ObjectSpec? regularizer = null, ObjectSpec? constraint = null)
        : this(owner, shortName, shape, trainable, initializer, regularizer, constraint)
    {
        if (data.LongLength != Size)
            throw new ArgumentException($"weight '{owner.Name}/{shortName}' has {data.LongLength} values for shape [{string.Join(",", shape)}]");
        _data = data;
    }

    /// <summary>A weight whose values <paramref name="draw"/> makes from a seed on first read (the same values for the
    /// same seed every time); seed 0 unless <see cref="SeedInitializer"/> gives another.</summary>
    public Weight(Layer owner, string shortName, long[] shape, Func<int, float[]> draw, bool trainable,
        ObjectSpec? initializer = null, ObjectSpec? regularizer = null, ObjectSpec? constraint = null)
        : this(owner, shortName, shape, trainable, initializer, regularizer, constraint) => _draw = draw;

    private Weight(Layer owner, string shortName, long[] shape, bool trainable, ObjectSpec? initializer, ObjectSpec? regularizer, ObjectSpec? constraint)
    {
        Owner = owner;
        ShortName = shortName;
        Shape = shape;
        Size = shape.Aggregate(1L, (p, d) => checked(p * d));
        Trainable = trainable;
        Initializer = initializer;
        Regularizer = regularizer;
        Constraint = constraint;
    }

    public Layer Owner { get; }
    /// <summary>"kernel", "bias", "moving_mean"…</summary>
    public string ShortName { get; }
    /// <summary>Keras's path: <c>conv2d_1/kernel</c>.</summary>
    public string Path => $"{Owner.Name}/{ShortName}";
    public long[] Shape { get; }
    public long Size { get; }
    /// <summary>Trainable by gradient; false for frozen weights and for state such as BatchNorm's moving statistics.</summary>
    public bool Trainable { get; }
    public ObjectSpec? Initializer { get; }
    public ObjectSpec? Regularizer { get; }
    public ObjectSpec? Constraint { get; }

    public float[] Data
    {
        get
        {
            if (_data is { } d) return d;
            lock (_fill)
            {
                return _data ??= _draw!(_seed);
            }
        }
    }

    /// <summary>False while the values are still to be made by the initializer.</summary>
    public bool IsMaterialized => _data is not null;

    /// <summary>Makes the initializer draw from <paramref name="seed"/> when it draws (on first read), as a Keras model
    /// built after <c>set_random_seed(seed)</c> would. Values already read, assigned, loaded or trained stay what they
    /// are: whoever has seen a weight keeps seeing it.</summary>
    public void SeedInitializer(int seed)
    {
        lock (_fill)
            if (_data is null) _seed = seed;
    }

    /// <summary>Sets the values to a copy of <paramref name="values"/>.</summary>
    public void Assign(float[] values) => Adopt((float[])values.Clone());

    /// <summary>Takes <paramref name="values"/> itself as the weight's array, without a copy: for a fresh array nobody
    /// else changes afterwards (a trained model's weights read back from the step session).</summary>
    public void Adopt(float[] values)
    {
        if (values.LongLength != Size) throw new ArgumentException($"weight '{Path}' needs {Size} values, got {values.LongLength}");
        lock (_fill)
        {
            _data = values;
            _draw = null;
        }
    }

    public override string ToString() => $"{Path} [{string.Join(",", Shape)}]";
}
