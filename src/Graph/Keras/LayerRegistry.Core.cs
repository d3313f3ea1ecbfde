using NeuralService.Graph.Layers;

namespace NeuralService.Graph.Keras;

/// <summary>Core, activation, reshaping, merging, regularization and preprocessing layers.</summary>
public static partial class LayerRegistry
{
    static partial void AddCore(List<Entry> entries) => entries.AddRange(
    [
        // core
        Of<EmbeddingConfig>("Embedding", c => new Embedding(c)),
        Of<LambdaConfig>("Lambda", c => new Lambda(c)),
        // activations
        Of<ActivationConfig>("Activation", c => new Activation(c)),
        Of<ReLUConfig>("ReLU", c => new ReLU(c)),
        Of<LeakyReLUConfig>("LeakyReLU", c => new LeakyReLU(c)),
        Of<PReLUConfig>("PReLU", c => new PReLU(c)),
        Of<ELUConfig>("ELU", c => new ELU(c)),
        Of<SoftmaxConfig>("Softmax", c => new Softmax(c)),
        // reshaping
        Of<FlattenConfig>("Flatten", c => new Flatten(c)),
        Of<ReshapeConfig>("Reshape", c => new Reshape(c)),
        Of<PermuteConfig>("Permute", c => new Permute(c)),
        Of<RepeatVectorConfig>("RepeatVector", c => new RepeatVector(c)),
        // merging
        Of<ConcatenateConfig>("Concatenate", c => new Concatenate(c)),
        Of<MergeConfig>("Add", c => new Add(c)),
        Of<MergeConfig>("Subtract", c => new Subtract(c)),
        Of<MergeConfig>("Multiply", c => new Multiply(c)),
        Of<MergeConfig>("Average", c => new Average(c)),
        Of<MergeConfig>("Maximum", c => new Maximum(c)),
        Of<MergeConfig>("Minimum", c => new Minimum(c)),
        Of<DotConfig>("Dot", c => new Dot(c)),
        // regularization
        Of<DropoutConfig>("Dropout", c => new Dropout(c)),
        Of<SpatialDropoutConfig>("SpatialDropout1D", c => new SpatialDropout1D(c)),
        Of<SpatialDropoutConfig>("SpatialDropout2D", c => new SpatialDropout2D(c)),
        Of<SpatialDropoutConfig>("SpatialDropout3D", c => new SpatialDropout3D(c)),
        Of<GaussianNoiseConfig>("GaussianNoise", c => new GaussianNoise(c)),
        Of<GaussianDropoutConfig>("GaussianDropout", c => new GaussianDropout(c)),
        Of<ActivityRegularizationConfig>("ActivityRegularization", c => new ActivityRegularization(c)),
        // preprocessing
        Of<RescalingConfig>("Rescaling", c => new Rescaling(c)),
        Of<NormalizationConfig>("Normalization", c => new Normalization(c)),
        Of<CenterCropConfig>("CenterCrop", c => new CenterCrop(c)),
        Of<ResizingConfig>("Resizing", c => new Resizing(c)),
        Of<RandomFlipConfig>("RandomFlip", c => new RandomFlip(c)),
        Of<RandomRotationConfig>("RandomRotation", c => new RandomRotation(c)),
        Of<RandomZoomConfig>("RandomZoom", c => new RandomZoom(c)),
        Of<RandomTranslationConfig>("RandomTranslation", c => new RandomTranslation(c)),
        Of<RandomContrastConfig>("RandomContrast", c => new RandomContrast(c)),
        Of<RandomCropConfig>("RandomCrop", c => new RandomCrop(c)),
    ]);
}
