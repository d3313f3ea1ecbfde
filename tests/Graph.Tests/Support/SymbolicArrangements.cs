using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;

namespace NeuralService.Graph.Tests.Support;

/// <summary>Small Keras-style models whose batch (and, where the layers allow, length or spatial dims) is symbolic in
/// the graph: the arrangements that used to break the gradient rules (a linear convolution followed by Flatten,
/// pooling or BatchNormalization, BatchNormalization away from the input, open lengths). Shared by the gradient checks
/// and the training tests.</summary>
public static class SymbolicArrangements
{
    /// <param name="InputShape">Per-sample input shape, null where the graph keeps the dim open.</param>
    /// <param name="Sample">Per-sample shape of the data fed to it.</param>
    /// <param name="FiniteDifferenceStep">A smaller step than the check's default where max pooling or ReLU put kinks
    /// within reach of a float32 step.</param>
    public sealed record Arrangement(string Name, int?[] InputShape, int[] Sample, Func<KerasTensor, KerasTensor> Body, double? FiniteDifferenceStep = null)
    {
        /// <summary>A fresh model ending in a small linear Dense head, its trainable weights drawn from
        /// <paramref name="seed"/> (not from layer names, which depend on what the process built before).</summary>
        /// <param name="staticDims">Open dims take the data's sizes (with <paramref name="batchSize"/>: a fully static graph).</param>
        public Functional Build(int seed = 1, int? batchSize = null, bool staticDims = false)
        {
            var x = Input.Of(staticDims ? Sample.Select(d => (int?)d).ToArray() : InputShape, batchSize: batchSize);
            var model = new Functional(x, new Dense(2).Apply(Body(x)), "arrangement");
            var k = seed;
            foreach (var w in model.Weights.Where(w => w.Trainable))
            {
                var r = Reference.Random((int)w.Size, k++, 0.5f);
                w.Assign(w.ShortName == "gamma" ? r.Select(v => 1 + v).ToArray() : r);
            }
            return model;
        }

        public override string ToString() => Name;
    }

    private static KerasTensor Conv2D(KerasTensor x, int filters, int kernel, int stride = 1, string padding = "valid", bool bias = true) =>
        new Conv2D(new ConvConfig { Filters = filters, KernelSize = [kernel], Strides = [stride], Padding = padding, UseBias = bias }).Apply(x);

    private static KerasTensor Conv1D(KerasTensor x, int filters, int kernel, int stride = 1, string padding = "valid") =>
        new Conv1D(new ConvConfig { Filters = filters, KernelSize = [kernel], Strides = [stride], Padding = padding }).Apply(x);

    private static KerasTensor Bn(KerasTensor x) => new BatchNormalization().Apply(x);
    private static KerasTensor Flat(KerasTensor x) => new Flatten().Apply(x);
    private static KerasTensor Gap2D(KerasTensor x) => new GlobalAveragePooling2D(new GlobalPoolingConfig()).Apply(x);
    private static KerasTensor Gap1D(KerasTensor x) => new GlobalAveragePooling1D(new GlobalPoolingConfig()).Apply(x);

    private static KerasTensor NestedBnBlock(KerasTensor x)
    {
        var inner = Input.Of(x.Shape.Skip(1).ToKeras());
        var block = new Functional(inner, Bn(Conv2D(inner, 3, 3, padding: "same")), "block");
        return block.Apply(x);
    }

    public static readonly IReadOnlyList<Arrangement> All =
    [
        new("conv2d linear → flatten", [6, 6, 2], [6, 6, 2], x => Flat(Conv2D(x, 3, 3))),
        new("conv2d linear → maxpool → flatten", [6, 6, 2], [6, 6, 2],
            x => Flat(new MaxPooling2D(new PoolingConfig { PoolSize = [2] }).Apply(Conv2D(x, 3, 3, padding: "same"))), 1e-3),
        new("conv2d linear → avgpool same → flatten", [7, 7, 2], [7, 7, 2],
            x => Flat(new AveragePooling2D(new PoolingConfig { PoolSize = [3], Strides = [2], Padding = "same" }).Apply(Conv2D(x, 3, 3, padding: "same")))),
        new("conv2d linear → global avg pool", [6, 6, 2], [6, 6, 2], x => Gap2D(Conv2D(x, 3, 3))),
        new("conv2d linear → batchnorm → flatten", [5, 5, 2], [5, 5, 2], x => Flat(Bn(Conv2D(x, 3, 3)))),
        new("conv1d linear → flatten", [10, 3], [10, 3], x => Flat(Conv1D(x, 4, 3))),
        new("conv2dtranspose linear → batchnorm", [3, 3, 2], [3, 3, 2],
            x => Flat(Bn(new Conv2DTranspose(new ConvTransposeConfig { Filters = 2, KernelSize = [3], Strides = [2], Padding = "same", UseBias = false }).Apply(x)))),
        new("dense → batchnorm", [5], [5], x => Bn(new Dense(4).Apply(x))),
        new("batchnorm in a nested model", [4, 4, 2], [4, 4, 2], x => Flat(NestedBnBlock(Conv2D(x, 3, 1)))),
        new("conv → batchnorm → relu block, open spatial dims", [null, null, 2], [7, 6, 2],
            x => Gap2D(new Activation("relu").Apply(Bn(Conv2D(x, 4, 3, padding: "same", bias: false)))), 1e-3),
        new("strided same conv → maxpool, open spatial dims", [null, null, 2], [9, 7, 2],
            x => Gap2D(new MaxPooling2D(new PoolingConfig { PoolSize = [2] }).Apply(Conv2D(x, 3, 3, stride: 2, padding: "same"))), 1e-3),
        new("avgpool same stride 2, open spatial dims", [null, null, 2], [7, 8, 2],
            x => Gap2D(new AveragePooling2D(new PoolingConfig { PoolSize = [3], Strides = [2], Padding = "same" }).Apply(Conv2D(x, 3, 3)))),
        new("conv2dtranspose → batchnorm, open spatial dims", [null, null, 2], [3, 4, 2],
            x => Gap2D(Bn(new Conv2DTranspose(new ConvTransposeConfig { Filters = 2, KernelSize = [3], Strides = [2], UseBias = false }).Apply(x)))),
        new("strided conv1d → batchnorm, open length", [null, 3], [11, 3], x => Gap1D(Bn(Conv1D(x, 4, 3, stride: 2, padding: "same")))),
        new("zero padding → conv1d → cropping, open length", [null, 3], [8, 3],
            x => Gap1D(new Cropping1D(new Cropping1DConfig { Cropping = [[1], [2]] }).Apply(
                Conv1D(new ZeroPadding1D(new ZeroPaddingConfig { Padding = [[2]] }).Apply(x), 4, 3)))),
        new("upsampling2d nearest, open spatial dims", [null, null, 2], [3, 4, 2],
            x => Gap2D(Conv2D(new UpSampling2D(new UpSampling2DConfig { Size = [2, 2] }).Apply(x), 3, 3))),
        new("upsampling2d bilinear → conv", [3, 4, 2], [3, 4, 2],
            x => Flat(Conv2D(new UpSampling2D(new UpSampling2DConfig { Size = [2, 2], Interpolation = "bilinear" }).Apply(x), 2, 3))),
        new("self-attention → layer norm, open length", [null, 4], [5, 4],
            x => Gap1D(new LayerNormalization().Apply(new MultiHeadAttention(2, 3).ApplyAttention(x, x)))),
        new("concatenate along an open length", [null, 3], [4, 3],
            x => Gap1D(new Concatenate(axis: 1).Apply(Conv1D(x, 3, 1), Conv1D(x, 3, 3, padding: "same")))),
        new("separable conv1d → upsampling1d, open length", [null, 3], [5, 3],
            x => Gap1D(new UpSampling1D(new UpSampling1DConfig { Size = [2] }).Apply(
                new SeparableConv1D(new SeparableConvConfig { Filters = 4, KernelSize = [3], Strides = [2], Padding = "same" }).Apply(x)))),
        new("bidirectional lstm, open length", [null, 3], [5, 3], x => new Bidirectional(new LSTM(3)).Apply(x)),
        new("time-distributed conv2d → lstm, open length", [null, 4, 4, 1], [3, 4, 4, 1],
            x => new LSTM(3).Apply(new TimeDistributed(new Flatten()).Apply(
                new TimeDistributed(new Conv2D(new ConvConfig { Filters = 2, KernelSize = [3] })).Apply(x)))),
        new("strided depthwise conv2d, open spatial dims", [null, null, 2], [7, 6, 2],
            x => Gap2D(new DepthwiseConv2D(new DepthwiseConvConfig { DepthMultiplier = 2, KernelSize = [3], Strides = [2], Padding = "same" }).Apply(x))),
    ];

    /// <summary>Uniform values in [−1, 1) for <paramref name="count"/> samples of the arrangement's sample shape.</summary>
    public static float[] Data(Arrangement a, int count, int seed) =>
        Reference.Random(count * a.Sample.Aggregate(1, (p, d) => p * d), seed);
}
