using System.Text.Json.Serialization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Arguments of Conv1D/Conv2D/Conv3D (Keras 3 <c>BaseConv.get_config</c>; Keras 2 writes the same keys).</summary>
public sealed record ConvConfig : LayerConfig
{
    public int Filters { get; init; }
    public int[] KernelSize { get; init; } = [3];
    public int[] Strides { get; init; } = [1];
    /// <summary>"valid", "same" or (Conv1D only) "causal".</summary>
    public string Padding { get; init; } = "valid";
    public string? DataFormat { get; init; } = Spatial.ChannelsLast;
    public int[] DilationRate { get; init; } = [1];
    public int Groups { get; init; } = 1;
    public string? Activation { get; init; } = "linear";
    public bool UseBias { get; init; } = true;
    public ObjectSpec KernelInitializer { get; init; } = Specs.GlorotUniform;
    public ObjectSpec BiasInitializer { get; init; } = Specs.Zeros;
    public ObjectSpec? KernelRegularizer { get; init; }
    public ObjectSpec? BiasRegularizer { get; init; }
    public ObjectSpec? ActivityRegularizer { get; init; }
    public ObjectSpec? KernelConstraint { get; init; }
    public ObjectSpec? BiasConstraint { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? LoraRank { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? LoraAlpha { get; init; }
}

/// <summary>N-D convolution (cross-correlation): y[n, o, p] = activation(b[o] + Σ_{c∈group(o), k} W[o, c, k]·x[n, c, p·s + k·d − pad]).
/// The kernel is stored in ONNX layout [filters, in/groups, *k]; Keras's [*k, in/groups, filters] gives the fans.</summary>
public abstract class BaseConv : ConvolutionLayer
{
    private Weight? _kernel;
    private Weight? _bias;

    protected BaseConv(ConvConfig config, int rank)
        : base(config, rank, config.KernelSize, config.Strides, config.DilationRate, config.Padding, config.DataFormat, config.Activation, allowCausal: true)
    {
        if (config.Filters <= 0) throw new ArgumentException($"{ClassName} filters must be positive, got {config.Filters}");
        if (config.Groups <= 0 || config.Filters % config.Groups != 0)
            throw new ArgumentException($"{ClassName} groups must be positive and divide filters={config.Filters}, got {config.Groups}");
        if (config.LoraRank is > 0) throw new ArgumentException($"{ClassName} lora_rank={config.LoraRank} is not supported");
        Config = config;
    }

    public override ConvConfig Config { get; }
    public Weight Kernel => _kernel ?? throw new InvalidOperationException($"layer '{Name}' is not built");
    public Weight? Bias => _bias;

    protected override void Build(TensorType input)
    {
        var inCh = ChannelsOf(input);
        if (inCh % Config.Groups != 0)
            throw new ArgumentException($"{ClassName} input channels {inCh} are not divisible by groups={Config.Groups}");
        var receptive = KernelSize.Aggregate(1.0, (p, k) => p * k);
        var perGroup = inCh / Config.Groups;
        _kernel = AddWeight("kernel", [Config.Filters, perGroup, .. KernelSize], Config.KernelInitializer,
            regularizer: Config.KernelRegularizer, constraint: Config.KernelConstraint,
            fans: (receptive * perGroup, receptive * Config.Filters));
        if (Config.UseBias)
            _bias = AddWeight("bias", [Config.Filters], Config.BiasInitializer, regularizer: Config.BiasRegularizer, constraint: Config.BiasConstraint);
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var nc = Spatial.ToChannelsFirst(g, x, ChannelsLast);
        var attrs = Spatial.WindowAttributes(nc.Shape, PaddingMode, KernelSize, Strides, Dilations);
        attrs.Add(Attr.Ints("dilations", Dilations));
        attrs.Add(Attr.Int("group", Config.Groups));
        var y = g.Node1("Conv", [nc, Use(g, Kernel), _bias is null ? null : Use(g, _bias)], attrs);
        // Elementwise activations commute with the layout transpose; applying them first lets the next
        // channels-last layer cancel this layer's transpose back (GraphBuilder drops inverse transpose pairs).
        if (Activations.IsElementwise(Config.Activation))
            return Spatial.ToChannelsLast(g, Activations.Apply(g, y, Config.Activation), ChannelsLast);
        y = Spatial.ToChannelsLast(g, y, ChannelsLast);
        return Activations.Apply(g, y, Config.Activation, ChannelsLast ? -1 : 1);
    }

    protected override bool PropagatesMask(Value x, Value y) => false;
}

/// <summary>Keras Conv1D on [batch, steps, channels] (or [batch, channels, steps]); padding may be "causal".</summary>
public sealed class Conv1D : BaseConv
{
    public Conv1D(ConvConfig config) : base(config, 1) { }

    public Conv1D(int filters, int kernelSize, int strides = 1, string padding = "valid", string activation = "linear",
        int dilationRate = 1, int groups = 1, bool useBias = true, string dataFormat = Spatial.ChannelsLast, string? name = null)
        : this(new ConvConfig
        {
            Filters = filters, KernelSize = [kernelSize], Strides = [strides], Padding = padding, Activation = activation,
            DilationRate = [dilationRate], Groups = groups, UseBias = useBias, DataFormat = dataFormat, Name = name,
        }) { }
}

/// <summary>Keras Conv2D on [batch, rows, cols, channels] (or channels first).</summary>
public sealed class Conv2D : BaseConv
{
    public Conv2D(ConvConfig config) : base(config, 2) { }

    public Conv2D(int filters, int[] kernelSize, int[]? strides = null, string padding = "valid", string activation = "linear",
        int[]? dilationRate = null, int groups = 1, bool useBias = true, string dataFormat = Spatial.ChannelsLast, string? name = null)
        : this(new ConvConfig
        {
            Filters = filters, KernelSize = kernelSize, Strides = strides ?? [1], Padding = padding, Activation = activation,
            DilationRate = dilationRate ?? [1], Groups = groups, UseBias = useBias, DataFormat = dataFormat, Name = name,
        }) { }
}

/// <summary>Keras Conv3D on [batch, d1, d2, d3, channels] (or channels first).</summary>
public sealed class Conv3D : BaseConv
{
    public Conv3D(ConvConfig config) : base(config, 3) { }

    public Conv3D(int filters, int[] kernelSize, int[]? strides = null, string padding = "valid", string activation = "linear",
        int[]? dilationRate = null, int groups = 1, bool useBias = true, string dataFormat = Spatial.ChannelsLast, string? name = null)
        : this(new ConvConfig
        {
            Filters = filters, KernelSize = kernelSize, Strides = strides ?? [1], Padding = padding, Activation = activation,
            DilationRate = dilationRate ?? [1], Groups = groups, UseBias = useBias, DataFormat = dataFormat, Name = name,
        }) { }
}
