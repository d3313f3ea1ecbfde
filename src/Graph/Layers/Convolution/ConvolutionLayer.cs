using NeuralService.Graph.Core;

namespace NeuralService.Graph.Layers;

/// <summary>What every convolution layer parses the same way: rank, kernel size, strides, dilation rate, padding mode
/// and data format, checked once with messages naming the argument.</summary>
public abstract class ConvolutionLayer : UnaryLayer
{
    protected ConvolutionLayer(LayerConfig config, int rank, int[]? kernelSize, int[]? strides, int[]? dilationRate,
        string? padding, string? dataFormat, string? activation, bool allowCausal) : base(config)
    {
        Rank = rank;
        KernelSize = Spatial.Tuple(kernelSize, rank, "kernel_size", 1);
        Strides = Spatial.Tuple(strides, rank, "strides", 1);
        Dilations = Spatial.Tuple(dilationRate, rank, "dilation_rate", 1);
        PaddingMode = allowCausal && rank == 1 ? Spatial.Padding(padding, "valid", "same", "causal") : Spatial.Padding(padding, "valid", "same");
        ChannelsLast = Spatial.IsChannelsLast(dataFormat);
        Activations.Check(activation);
    }

    public int Rank { get; }
    public long[] KernelSize { get; }
    public long[] Strides { get; }
    public long[] Dilations { get; }
    public string PaddingMode { get; }
    public bool ChannelsLast { get; }

    /// <summary>Channels of the input in this layer's data format.</summary>
    protected long ChannelsOf(TensorType input) => Spatial.Channels(input, Rank, ChannelsLast, ClassName);
}
