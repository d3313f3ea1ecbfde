using NeuralService.Graph.Keras;

namespace NeuralService.Graph.Layers;

/// <summary>A layer variable: shape, current values (float32), and how it was initialized, regularized and constrained.</summary>
public sealed class Weight
{
    private float[] _data;

    public Weight(Layer owner, string shortName, long[] shape, float[] data, bool trainable,
        ObjectSpec? initializer = null, ObjectSpec? regularizer = null, ObjectSpec? constraint = null)
    {
        var size = shape.Aggregate(1L, (p, d) => p * d);
        if (data.LongLength != size)
            throw new ArgumentException($"weight '{owner.Name}/{shortName}' has {data.LongLength} values for shape [{string.Join(",", shape)}]");
        Owner = owner;
        ShortName = shortName;
        Shape = shape;
        _data = data;
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
    public long Size => _data.LongLength;
    /// <summary>Trainable by gradient; false for frozen weights and for state such as BatchNorm's moving statistics.</summary>
    public bool Trainable { get; }
    public ObjectSpec? Initializer { get; }
    public ObjectSpec? Regularizer { get; }
    public ObjectSpec? Constraint { get; }

    public float[] Data => _data;

    public void Assign(float[] values)
    {
        if (values.LongLength != Size) throw new ArgumentException($"weight '{Path}' needs {Size} values, got {values.LongLength}");
        _data = (float[])values.Clone();
    }

    public override string ToString() => $"{Path} [{string.Join(",", Shape)}]";
}
