using NeuralService.Graph.Layers;

namespace NeuralService.Graph.Keras;

public static partial class LayerRegistry
{
    /// <summary>Convolution, pooling, batch normalization and the spatial padding/cropping/upsampling layers.</summary>
    static partial void AddConvolution(List<Entry> entries) => entries.AddRange(
    [
        Of<ConvConfig>("Conv1D", c => new Conv1D(c)),
        Of<ConvConfig>("Conv2D", c => new Conv2D(c)),
        Of<ConvConfig>("Conv3D", c => new Conv3D(c)),
        Of<ConvTransposeConfig>("Conv1DTranspose", c => new Conv1DTranspose(c)),
        Of<ConvTransposeConfig>("Conv2DTranspose", c => new Conv2DTranspose(c)),
        Of<ConvTransposeConfig>("Conv3DTranspose", c => new Conv3DTranspose(c)),
        Of<DepthwiseConvConfig>("DepthwiseConv1D", c => new DepthwiseConv1D(c)),
        Of<DepthwiseConvConfig>("DepthwiseConv2D", c => new DepthwiseConv2D(c)),
        Of<SeparableConvConfig>("SeparableConv1D", c => new SeparableConv1D(c)),
        Of<SeparableConvConfig>("SeparableConv2D", c => new SeparableConv2D(c)),
        Of<PoolingConfig>("MaxPooling1D", c => new MaxPooling1D(c)),
        Of<PoolingConfig>("MaxPooling2D", c => new MaxPooling2D(c)),
        Of<PoolingConfig>("MaxPooling3D", c => new MaxPooling3D(c)),
        Of<PoolingConfig>("AveragePooling1D", c => new AveragePooling1D(c)),
        Of<PoolingConfig>("AveragePooling2D", c => new AveragePooling2D(c)),
        Of<PoolingConfig>("AveragePooling3D", c => new AveragePooling3D(c)),
        Of<GlobalPoolingConfig>("GlobalAveragePooling1D", c => new GlobalAveragePooling1D(c)),
        Of<GlobalPoolingConfig>("GlobalAveragePooling2D", c => new GlobalAveragePooling2D(c)),
        Of<GlobalPoolingConfig>("GlobalAveragePooling3D", c => new GlobalAveragePooling3D(c)),
        Of<GlobalPoolingConfig>("GlobalMaxPooling1D", c => new GlobalMaxPooling1D(c)),
        Of<GlobalPoolingConfig>("GlobalMaxPooling2D", c => new GlobalMaxPooling2D(c)),
        Of<GlobalPoolingConfig>("GlobalMaxPooling3D", c => new GlobalMaxPooling3D(c)),
        Of<BatchNormalizationConfig>("BatchNormalization", c => new BatchNormalization(c)),
        Of<UpSampling1DConfig>("UpSampling1D", c => new UpSampling1D(c)),
        Of<UpSampling2DConfig>("UpSampling2D", c => new UpSampling2D(c)),
        Of<UpSampling3DConfig>("UpSampling3D", c => new UpSampling3D(c)),
        Of<ZeroPaddingConfig>("ZeroPadding1D", c => new ZeroPadding1D(c)),
        Of<ZeroPaddingConfig>("ZeroPadding2D", c => new ZeroPadding2D(c)),
        Of<ZeroPaddingConfig>("ZeroPadding3D", c => new ZeroPadding3D(c)),
        Of<Cropping1DConfig>("Cropping1D", c => new Cropping1D(c)),
        Of<CroppingConfig>("Cropping2D", c => new Cropping2D(c)),
        Of<CroppingConfig>("Cropping3D", c => new Cropping3D(c)),
    ]);
}
