using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Arguments of MaxPooling1D/2D/3D and AveragePooling1D/2D/3D (Keras 3 and Keras 2 write the same keys).</summary>
public sealed record PoolingConfig : LayerConfig
{
    public int[] PoolSize { get; init; } = [2];
    /// <summary>null = pool_size.</summary>
    public int[]? Strides { get; init; }
    public string Padding { get; init; } = "valid";
    public string? DataFormat { get; init; } = Spatial.ChannelsLast;
}

/// <summary>Window pooling over the spatial axes. Max: y[p] = max_k x[p·s + k − pad]; average: the mean over the
/// window's positions inside the input (Keras's 'same' does not count the padding: ONNX count_include_pad=0).</summary>
public abstract class BasePooling : UnaryLayer
{
    protected BasePooling(PoolingConfig config, int rank, bool max) : base(config)
    {
        Rank = rank;
        IsMax = max;
        PoolSize = Spatial.Tuple(config.PoolSize, rank, "pool_size", 2);
        Strides = config.Strides is null ? PoolSize : Spatial.Tuple(config.Strides, rank, "strides", 1);
        PaddingMode = Spatial.Padding(config.Padding, "valid", "same");
        ChannelsLast = Spatial.IsChannelsLast(config.DataFormat);
        Config = config;
    }

    public override PoolingConfig Config { get; }
    public int Rank { get; }
    public bool IsMax { get; }
    public long[] PoolSize { get; }
    public long[] Strides { get; }
    public string PaddingMode { get; }
    public bool ChannelsLast { get; }

    protected override void Build(TensorType input)
    {
        if (input.Shape.Rank != Rank + 2) throw new ArgumentException($"{ClassName} expects a rank-{Rank + 2} input, got {input.Shape}");
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var nc = Spatial.ToChannelsFirst(g, x, ChannelsLast);
        var attrs = Spatial.WindowAttributes(nc.Shape, PaddingMode, PoolSize, Strides, null);
        if (!IsMax) attrs.Add(Attr.Int("count_include_pad", 0));
        var y = g.Node1(IsMax ? "MaxPool" : "AveragePool", [nc], attrs);
        return Spatial.ToChannelsLast(g, y, ChannelsLast);
    }

    protected override bool PropagatesMask(Value x, Value y) => false;
}

public sealed class MaxPooling1D : BasePooling
{
    public MaxPooling1D(PoolingConfig config) : base(config, 1, max: true) { }
    public MaxPooling1D(int poolSize = 2, int? strides = null, string padding = "valid", string dataFormat = Spatial.ChannelsLast, string? name = null)
        : this(new PoolingConfig { PoolSize = [poolSize], Strides = strides is { } s ? [s] : null, Padding = padding, DataFormat = dataFormat, Name = name }) { }
}

public sealed class MaxPooling2D : BasePooling
{
    public MaxPooling2D(PoolingConfig config) : base(config, 2, max: true) { }
    public MaxPooling2D(int[]? poolSize = null, int[]? strides = null, string padding = "valid", string dataFormat = Spatial.ChannelsLast, string? name = null)
        : this(new PoolingConfig { PoolSize = poolSize ?? [2], Strides = strides, Padding = padding, DataFormat = dataFormat, Name = name }) { }
}

public sealed class MaxPooling3D : BasePooling
{
    public MaxPooling3D(PoolingConfig config) : base(config, 3, max: true) { }
}

public sealed class AveragePooling1D : BasePooling
{
    public AveragePooling1D(PoolingConfig config) : base(config, 1, max: false) { }
}

public sealed class AveragePooling2D : BasePooling
{
    public AveragePooling2D(PoolingConfig config) : base(config, 2, max: false) { }
}

public sealed class AveragePooling3D : BasePooling
{
    public AveragePooling3D(PoolingConfig config) : base(config, 3, max: false) { }
}
