using System.Text.Json.Serialization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Arguments of SeparableConv1D/2D (Keras 3 keys; Keras 2 also wrote <c>groups</c>).</summary>
public sealed record SeparableConvConfig : LayerConfig
{
    public int DepthMultiplier { get; init; } = 1;
    public int Filters { get; init; }
    public int[] KernelSize { get; init; } = [3];
    public int[] Strides { get; init; } = [1];
    public string Padding { get; init; } = "valid";
    public string? DataFormat { get; init; } = Spatial.ChannelsLast;
    public int[] DilationRate { get; init; } = [1];
    /// <summary>Keras 2 only (inherited from Conv); ignored.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Groups { get; init; }
    public string? Activation { get; init; } = "linear";
    public bool UseBias { get; init; } = true;
    public ObjectSpec DepthwiseInitializer { get; init; } = Specs.GlorotUniform;
    public ObjectSpec PointwiseInitializer { get; init; } = Specs.GlorotUniform;
    public ObjectSpec BiasInitializer { get; init; } = Specs.Zeros;
    public ObjectSpec? DepthwiseRegularizer { get; init; }
    public ObjectSpec? PointwiseRegularizer { get; init; }
    public ObjectSpec? BiasRegularizer { get; init; }
    public ObjectSpec? ActivityRegularizer { get; init; }
    public ObjectSpec? DepthwiseConstraint { get; init; }
    public ObjectSpec? PointwiseConstraint { get; init; }
    public ObjectSpec? BiasConstraint { get; init; }
}

/// <summary>Separable convolution: a depthwise convolution (no bias, channel c·m + j from input channel c) followed by
/// a 1×…×1 pointwise convolution y[n, o, p] = b[o] + Σ_q P[o, q]·z[n, q, p]. Kernels in ONNX layout
/// [in·m, 1, *k] and [filters, in·m, 1…]; Keras's [*k, in, m] and [1…, in·m, filters] give the fans.</summary>
public abstract class BaseSeparableConv : ConvolutionLayer
{
    private Weight? _depthwise;
    private Weight? _pointwise;
    private Weight? _bias;

    protected BaseSeparableConv(SeparableConvConfig config, int rank)
        : base(config, rank, config.KernelSize, config.Strides, config.DilationRate, config.Padding, config.DataFormat, config.Activation, allowCausal: true)
    {
        if (config.Filters <= 0) throw new ArgumentException($"{ClassName} filters must be positive, got {config.Filters}");
        if (config.DepthMultiplier <= 0) throw new ArgumentException($"{ClassName} depth_multiplier must be positive, got {config.DepthMultiplier}");
        Config = config;
    }

    public override SeparableConvConfig Config { get; }
    public long InputChannels { get; private set; }
    public Weight DepthwiseKernel => _depthwise ?? throw new InvalidOperationException($"layer '{Name}' is not built");
    public Weight PointwiseKernel => _pointwise ?? throw new InvalidOperationException($"layer '{Name}' is not built");
    public Weight? Bias => _bias;

    protected override void Build(TensorType input)
    {
        InputChannels = ChannelsOf(input);
        var m = Config.DepthMultiplier;
        var receptive = KernelSize.Aggregate(1.0, (p, k) => p * k);
        _depthwise = AddWeight("depthwise_kernel", [InputChannels * m, 1, .. KernelSize], Config.DepthwiseInitializer,
            regularizer: Config.DepthwiseRegularizer, constraint: Config.DepthwiseConstraint,
            fans: (receptive * InputChannels, receptive * m));
        _pointwise = AddWeight("pointwise_kernel", [Config.Filters, InputChannels * m, .. Enumerable.Repeat(1L, Rank)],
            Config.PointwiseInitializer, regularizer: Config.PointwiseRegularizer, constraint: Config.PointwiseConstraint,
            fans: (InputChannels * m, Config.Filters));
        if (Config.UseBias)
            _bias = AddWeight("bias", [Config.Filters], Config.BiasInitializer, regularizer: Config.BiasRegularizer, constraint: Config.BiasConstraint);
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var nc = Spatial.ToChannelsFirst(g, x, ChannelsLast);
        var attrs = Spatial.WindowAttributes(nc.Shape, PaddingMode, KernelSize, Strides, Dilations);
        attrs.Add(Attr.Ints("dilations", Dilations));
        attrs.Add(Attr.Int("group", InputChannels));
        var z = g.Node1("Conv", [nc, Use(g, DepthwiseKernel)], attrs, name: "Depthwise");
        var y = g.Node1("Conv", [z, Use(g, PointwiseKernel), _bias is null ? null : Use(g, _bias)],
            [Attr.Ints("kernel_shape", Enumerable.Repeat(1L, Rank))], name: "Pointwise");
        y = Spatial.ToChannelsLast(g, y, ChannelsLast);
        return Activations.Apply(g, y, Config.Activation, ChannelsLast ? -1 : 1);
    }

    protected override bool PropagatesMask(Value x, Value y) => false;
}

public sealed class SeparableConv1D : BaseSeparableConv
{
    public SeparableConv1D(SeparableConvConfig config) : base(config, 1) { }
}

public sealed class SeparableConv2D : BaseSeparableConv
{
    public SeparableConv2D(SeparableConvConfig config) : base(config, 2) { }
}
