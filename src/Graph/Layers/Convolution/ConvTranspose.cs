using System.Text.Json.Serialization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Arguments of Conv1DTranspose/Conv2DTranspose/Conv3DTranspose (Keras 3 keys; Keras 2 also wrote <c>groups</c>).</summary>
public sealed record ConvTransposeConfig : LayerConfig
{
    public int Filters { get; init; }
    public int[] KernelSize { get; init; } = [3];
    public int[] Strides { get; init; } = [1];
    public string Padding { get; init; } = "valid";
    /// <summary>null = Keras's default (output length in·s for 'same', (in−1)·s + max(k, s) for 'valid').</summary>
    public int[]? OutputPadding { get; init; }
    public string? DataFormat { get; init; } = Spatial.ChannelsLast;
    public int[] DilationRate { get; init; } = [1];
    /// <summary>Keras 2 only; must be 1.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? Groups { get; init; }
    public string? Activation { get; init; } = "linear";
    public bool UseBias { get; init; } = true;
    public ObjectSpec KernelInitializer { get; init; } = Specs.GlorotUniform;
    public ObjectSpec BiasInitializer { get; init; } = Specs.Zeros;
    public ObjectSpec? KernelRegularizer { get; init; }
    public ObjectSpec? BiasRegularizer { get; init; }
    public ObjectSpec? ActivityRegularizer { get; init; }
    public ObjectSpec? KernelConstraint { get; init; }
    public ObjectSpec? BiasConstraint { get; init; }
}

/// <summary>Transposed convolution: y[n, o, i·s + k·d − pad_begin] += x[n, c, i]·W[c, o, k], plus b[o]. The kernel is
/// stored in ONNX layout [in, filters, *k]; Keras's [*k, filters, in] gives the fans (fan_in counts filters).
/// Keras's padding/output_padding become ONNX begin/end crops of the full (in−1)·s + (k−1)·d + 1 output, with the
/// extra output_padding where the end crop would be negative.</summary>
public abstract class BaseConvTranspose : ConvolutionLayer
{
    private Weight? _kernel;
    private Weight? _bias;

    protected BaseConvTranspose(ConvTransposeConfig config, int rank)
        : base(config, rank, config.KernelSize, config.Strides, config.DilationRate, config.Padding, config.DataFormat, config.Activation, allowCausal: false)
    {
        if (config.Filters <= 0) throw new ArgumentException($"{ClassName} filters must be positive, got {config.Filters}");
        OutputPadding = config.OutputPadding is null ? null : Spatial.Tuple(config.OutputPadding, rank, "output_padding", 0, allowZero: true);
        if (config.Groups is { } gr && gr != 1) throw new ArgumentException($"{ClassName} supports groups=1 only, got {gr}");
        if (OutputPadding is not null)
            for (var i = 0; i < rank; i++)
                if (OutputPadding[i] >= Strides[i] && OutputPadding[i] >= Dilations[i])
                    throw new ArgumentException($"{ClassName} output_padding [{string.Join(", ", OutputPadding)}] must be smaller than strides or dilation_rate");
        Config = config;
    }

    public override ConvTransposeConfig Config { get; }
    public long[]? OutputPadding { get; }
    public Weight Kernel => _kernel ?? throw new InvalidOperationException($"layer '{Name}' is not built");
    public Weight? Bias => _bias;

    protected override void Build(TensorType input)
    {
        var inCh = ChannelsOf(input);
        var receptive = KernelSize.Aggregate(1.0, (p, k) => p * k);
        _kernel = AddWeight("kernel", [inCh, Config.Filters, .. KernelSize], Config.KernelInitializer,
            regularizer: Config.KernelRegularizer, constraint: Config.KernelConstraint,
            fans: (receptive * Config.Filters, receptive * inCh));
        if (Config.UseBias)
            _bias = AddWeight("bias", [Config.Filters], Config.BiasInitializer, regularizer: Config.BiasRegularizer, constraint: Config.BiasConstraint);
    }

    /// <summary>ONNX (pad_begin, pad_end, output_padding) for one axis. Keras pads the stride-dilated input by
    /// (left, right) and runs a valid correlation; ONNX crops pad_begin = K−1−left and pad_end = K−1−right.</summary>
    private (long Begin, long End, long Extra) AxisPads(int i)
    {
        var k = (KernelSize[i] - 1) * Dilations[i] + 1;
        var s = Strides[i];
        long left, right;
        if (PaddingMode == "valid")
        {
            var op = OutputPadding?[i] ?? Math.Max(k, s) - k;
            left = k - 1;
            right = k - 1 + op;
        }
        else
        {
            var padLen = OutputPadding is null ? s + k - 2 : k + k % 2 - 2 + OutputPadding[i];
            left = Math.Min(padLen / 2 + padLen % 2, k - 1);
            right = padLen - left;
        }
        var begin = k - 1 - left;
        var end = k - 1 - right;
        return end >= 0 ? (begin, end, 0) : (begin, 0, -end);
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var nc = Spatial.ToChannelsFirst(g, x, ChannelsLast);
        var axes = Enumerable.Range(0, Rank).Select(AxisPads).ToArray();
        var attrs = new List<global::Onnx.AttributeProto>
        {
            Attr.Ints("kernel_shape", KernelSize), Attr.Ints("strides", Strides), Attr.Ints("dilations", Dilations),
            Attr.Ints("pads", axes.Select(a => a.Begin).Concat(axes.Select(a => a.End))),
        };
        if (axes.Any(a => a.Extra != 0)) attrs.Add(Attr.Ints("output_padding", axes.Select(a => a.Extra)));
        var y = g.Node1("ConvTranspose", [nc, Use(g, Kernel), _bias is null ? null : Use(g, _bias)], attrs);
        y = Spatial.ToChannelsLast(g, y, ChannelsLast);
        return Activations.Apply(g, y, Config.Activation, ChannelsLast ? -1 : 1);
    }

    protected override bool PropagatesMask(Value x, Value y) => false;
}

public sealed class Conv1DTranspose : BaseConvTranspose
{
    public Conv1DTranspose(ConvTransposeConfig config) : base(config, 1) { }
}

public sealed class Conv2DTranspose : BaseConvTranspose
{
    public Conv2DTranspose(ConvTransposeConfig config) : base(config, 2) { }
}

public sealed class Conv3DTranspose : BaseConvTranspose
{
    public Conv3DTranspose(ConvTransposeConfig config) : base(config, 3) { }
}
