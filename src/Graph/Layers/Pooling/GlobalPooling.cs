using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Arguments of GlobalAveragePooling1D/2D/3D and GlobalMaxPooling1D/2D/3D.</summary>
public sealed record GlobalPoolingConfig : LayerConfig
{
    public string? DataFormat { get; init; } = Spatial.ChannelsLast;
    public bool Keepdims { get; init; }
}

/// <summary>Mean or max over every spatial axis: y[n, c] = mean_p x[n, p, c] (or max); keepdims keeps them as 1.</summary>
public abstract class BaseGlobalPooling : UnaryLayer
{
    protected BaseGlobalPooling(GlobalPoolingConfig config, int rank, bool max) : base(config)
    {
        Rank = rank;
        IsMax = max;
        ChannelsLast = Spatial.IsChannelsLast(config.DataFormat);
        Config = config;
    }

    public override GlobalPoolingConfig Config { get; }
    public int Rank { get; }
    public bool IsMax { get; }
    public bool ChannelsLast { get; }

    protected override void Build(TensorType input)
    {
        if (input.Shape.Rank != Rank + 2) throw new ArgumentException($"{ClassName} expects a rank-{Rank + 2} input, got {input.Shape}");
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var first = ChannelsLast ? 1 : 2;
        var axes = Enumerable.Range(first, Rank).Select(a => (long)a);
        if (!IsMax && Rank == 1 && ctx.MaskOf(x) is { } mask) return MaskedMean(g, x, mask, first);
        return g.Node1(IsMax ? "ReduceMax" : "ReduceMean", [x], [Attr.Ints("axes", axes), Attr.Int("keepdims", Config.Keepdims ? 1 : 0)]);
    }

    protected override bool PropagatesMask(Value x, Value y) => false;

    /// <summary>Keras averages only the unmasked steps: Σ_t m[t]·x[t] / Σ_t m[t].</summary>
    private Value MaskedMean(GraphBuilder g, Value x, Value mask, int timeAxis)
    {
        var m = g.Node1("Cast", [mask], [Attr.Int("to", (long)x.DType)]);
        m = g.Node1("Unsqueeze", [m, g.Ints(timeAxis == 1 ? 2 : 1)]);
        var axis = g.Ints(timeAxis);
        var keep = Attr.Int("keepdims", Config.Keepdims ? 1 : 0);
        var sum = g.Node1("ReduceSum", [g.Node1("Mul", [x, m]), axis], [keep]);
        return g.Node1("Div", [sum, g.Node1("ReduceSum", [m, axis], [keep])], name: "MaskedMean");
    }
}

public sealed class GlobalAveragePooling1D : BaseGlobalPooling
{
    public GlobalAveragePooling1D(GlobalPoolingConfig config) : base(config, 1, max: false) { }
}

public sealed class GlobalAveragePooling2D : BaseGlobalPooling
{
    public GlobalAveragePooling2D(GlobalPoolingConfig config) : base(config, 2, max: false) { }
}

public sealed class GlobalAveragePooling3D : BaseGlobalPooling
{
    public GlobalAveragePooling3D(GlobalPoolingConfig config) : base(config, 3, max: false) { }
}

public sealed class GlobalMaxPooling1D : BaseGlobalPooling
{
    public GlobalMaxPooling1D(GlobalPoolingConfig config) : base(config, 1, max: true) { }
}

public sealed class GlobalMaxPooling2D : BaseGlobalPooling
{
    public GlobalMaxPooling2D(GlobalPoolingConfig config) : base(config, 2, max: true) { }
}

public sealed class GlobalMaxPooling3D : BaseGlobalPooling
{
    public GlobalMaxPooling3D(GlobalPoolingConfig config) : base(config, 3, max: true) { }
}
