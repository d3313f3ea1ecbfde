using System.Text.Json.Serialization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Arguments of DepthwiseConv1D/2D (Keras 3 keys; Keras 2 also wrote <c>groups</c>).</summary>
public sealed record DepthwiseConvConfig : LayerConfig
{
    public int DepthMultiplier { get; init; } = 1;
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
    public ObjectSpec BiasInitializer { get; init; } = Specs.Zeros;
    public ObjectSpec? DepthwiseRegularizer { get; init; }
    public ObjectSpec? BiasRegularizer { get; init; }
    public ObjectSpec? ActivityRegularizer { get; init; }
    public ObjectSpec? DepthwiseConstraint { get; init; }
    public ObjectSpec? BiasConstraint { get; init; }
}

/// <summary>Depthwise convolution: each input channel c is convolved with its own depth_multiplier filters,
/// output channel c·m + j: y[n, c·m+j, p] = b + Σ_k W[c·m+j, 0, k]·x[n, c, p·s + k·d − pad] (ONNX Conv with group = in).
/// Keras's kernel [*k, in, m] gives the fans.</summary>
public abstract class BaseDepthwiseConv : ConvolutionLayer
{
    private Weight? _kernel;
    private Weight? _bias;

    protected BaseDepthwiseConv(DepthwiseConvConfig config, int rank)
        : base(config, rank, config.KernelSize, config.Strides, config.DilationRate, config.Padding, config.DataFormat, config.Activation, allowCausal: true)
    {
        if (config.DepthMultiplier <= 0) throw new ArgumentException($"{ClassName} depth_multiplier must be positive, got {config.DepthMultiplier}");
        Config = config;
    }

    public override DepthwiseConvConfig Config { get; }
    public long InputChannels { get; private set; }
    public Weight Kernel => _kernel ?? throw new InvalidOperationException($"layer '{Name}' is not built");
    public Weight? Bias => _bias;

    protected override void Build(TensorType input)
    {
        InputChannels = ChannelsOf(input);
        var m = Config.DepthMultiplier;
        var receptive = KernelSize.Aggregate(1.0, (p, k) => p * k);
        _kernel = AddWeight("kernel", [InputChannels * m, 1, .. KernelSize], Config.DepthwiseInitializer,
            regularizer: Config.DepthwiseRegularizer, constraint: Config.DepthwiseConstraint,
            fans: (receptive * InputChannels, receptive * m));
        if (Config.UseBias)
            _bias = AddWeight("bias", [InputChannels * m], Config.BiasInitializer, regularizer: Config.BiasRegularizer, constraint: Config.BiasConstraint);
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var nc = Spatial.ToChannelsFirst(g, x, ChannelsLast);
        var attrs = Spatial.WindowAttributes(nc.Shape, PaddingMode, KernelSize, Strides, Dilations);
        attrs.Add(Attr.Ints("dilations", Dilations));
        attrs.Add(Attr.Int("group", InputChannels));
        var y = g.Node1("Conv", [nc, Use(g, Kernel), _bias is null ? null : Use(g, _bias)], attrs);
        y = Spatial.ToChannelsLast(g, y, ChannelsLast);
        return Activations.Apply(g, y, Config.Activation, ChannelsLast ? -1 : 1);
    }

    protected override bool PropagatesMask(Value x, Value y) => false;
}

public sealed class DepthwiseConv1D : BaseDepthwiseConv
{
    public DepthwiseConv1D(DepthwiseConvConfig config) : base(config, 1) { }
}

public sealed class DepthwiseConv2D : BaseDepthwiseConv
{
    public DepthwiseConv2D(DepthwiseConvConfig config) : base(config, 2) { }
}
