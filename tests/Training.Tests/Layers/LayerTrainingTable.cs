namespace NeuralService.Training.Tests.Layers;

/// <summary>How the layer under test sits between the generated input and the Dense(1) regression head.</summary>
public enum Arrangement
{
    /// <summary>input → Dense "pre" (last axis) → layer → [Flatten] → head: gradients must cross the layer to reach "pre".</summary>
    AfterDense,
    /// <summary>input → layer → [Flatten] → head: the layer takes the model input itself (integer token ids).</summary>
    OnInput,
    /// <summary>input → Dense "pre_a", Dense "pre_b" → layer([a, b]) → head (merging layers).</summary>
    Merge,
    /// <summary>input → Dense "pre" → layer([h, h]) → head (attention over the sequence itself).</summary>
    SelfAttention,
}

/// <summary>One Keras layer class in a small trainable model: its Keras config (registry JSON), the per-sample input
/// shape and arrangement. <see cref="ReachesInput"/> is false for layers whose output does not depend on the input's
/// values (position encodings), so no gradient reaches "pre". <see cref="Skip"/> names a known bug.</summary>
public sealed record LayerRow(string ClassName, string Config, int[] Input, Arrangement How = Arrangement.AfterDense)
{
    public bool IntegerInput { get; init; }
    public bool ReachesInput { get; init; } = true;
    public string? Skip { get; init; }
    public override string ToString() => ClassName;
}

/// <summary>Every registered layer class, each in one row (<see cref="LayerTrainingTests.EveryRegisteredLayerClassHasARow"/>
/// fails for a class without one).</summary>
public static class LayerTrainingTable
{
    public static readonly LayerRow[] Rows =
    [
        // core
        new("Dense", """{"units": 3, "activation": "tanh"}""", [5]),
        new("Embedding", """{"input_dim": 10, "output_dim": 3}""", [6], Arrangement.OnInput) { IntegerInput = true },
        new("Lambda", """{"expression": "x * 2 + 1"}""", [5]),
        // activations
        new("Activation", """{"activation": "tanh"}""", [5]),
        new("ReLU", "{}", [5]),
        new("LeakyReLU", "{}", [5]),
        new("PReLU", "{}", [5]),
        new("ELU", "{}", [5]),
        new("Softmax", "{}", [5]),
        // reshaping
        new("Flatten", "{}", [3, 4]),
        new("Reshape", """{"target_shape": [4, 3]}""", [3, 4]),
        new("Permute", """{"dims": [2, 1]}""", [3, 4]),
        new("RepeatVector", """{"n": 3}""", [5]),
        new("UpSampling1D", """{"size": 2}""", [3, 2]),
        new("UpSampling2D", """{"size": [2, 2]}""", [3, 3, 2]),
        new("UpSampling3D", """{"size": [2, 2, 2]}""", [2, 2, 2, 2]),
        new("ZeroPadding1D", """{"padding": 1}""", [4, 2]),
        new("ZeroPadding2D", """{"padding": [[1, 1], [1, 1]]}""", [3, 3, 2]),
        new("ZeroPadding3D", """{"padding": [[1, 1], [1, 1], [1, 1]]}""", [2, 2, 2, 2]),
        new("Cropping1D", """{"cropping": [1, 1]}""", [6, 2]),
        new("Cropping2D", """{"cropping": [[1, 1], [1, 1]]}""", [5, 5, 2]),
        new("Cropping3D", """{"cropping": [[1, 1], [1, 1], [1, 1]]}""", [4, 4, 4, 2]),
        // merging
        new("Concatenate", "{}", [5], Arrangement.Merge),
        new("Add", "{}", [5], Arrangement.Merge),
        new("Subtract", "{}", [5], Arrangement.Merge),
        new("Multiply", "{}", [5], Arrangement.Merge),
        new("Average", "{}", [5], Arrangement.Merge),
        new("Maximum", "{}", [5], Arrangement.Merge),
        new("Minimum", "{}", [5], Arrangement.Merge),
        new("Dot", """{"axes": 1}""", [5], Arrangement.Merge),
        // regularization
        new("Dropout", """{"rate": 0.3}""", [5]),
        new("SpatialDropout1D", """{"rate": 0.3}""", [6, 4]),
        new("SpatialDropout2D", """{"rate": 0.3}""", [4, 4, 3]),
        new("SpatialDropout3D", """{"rate": 0.3}""", [3, 3, 3, 2]),
        new("GaussianNoise", """{"stddev": 0.1}""", [5]),
        new("GaussianDropout", """{"rate": 0.2}""", [5]),
        new("ActivityRegularization", """{"l1": 0.01, "l2": 0.01}""", [5]),
        // preprocessing
        new("Rescaling", """{"scale": 0.5, "offset": 0.1}""", [5]),
        new("Normalization", """{"axis": -1, "mean": [0.1, 0.2, 0.3, 0.4, 0.5], "variance": [1, 2, 1, 2, 1]}""", [5]),
        new("CenterCrop", """{"height": 3, "width": 3}""", [5, 5, 2]),
        new("Resizing", """{"height": 3, "width": 3}""", [5, 5, 2]),
        new("RandomFlip", "{}", [4, 4, 2]),
        new("RandomRotation", """{"factor": 0.1}""", [4, 4, 2]),
        new("RandomZoom", """{"height_factor": 0.1}""", [4, 4, 2]),
        new("RandomTranslation", """{"height_factor": 0.1, "width_factor": 0.1}""", [4, 4, 2]),
        new("RandomContrast", """{"factor": 0.1}""", [4, 4, 2]),
        new("RandomCrop", """{"height": 3, "width": 3}""", [4, 4, 2]),
        // convolution
        new("Conv1D", """{"filters": 3, "kernel_size": 2}""", [6, 2]),
        new("Conv2D", """{"filters": 3, "kernel_size": [2, 2]}""", [5, 5, 2]),
        new("Conv3D", """{"filters": 2, "kernel_size": [2, 2, 2]}""", [3, 3, 3, 2]),
        new("Conv1DTranspose", """{"filters": 3, "kernel_size": 2}""", [5, 2]),
        new("Conv2DTranspose", """{"filters": 3, "kernel_size": [2, 2]}""", [4, 4, 2]),
        new("Conv3DTranspose", """{"filters": 2, "kernel_size": [2, 2, 2]}""", [3, 3, 3, 2]),
        new("DepthwiseConv1D", """{"kernel_size": 2}""", [6, 2]),
        new("DepthwiseConv2D", """{"kernel_size": [2, 2]}""", [5, 5, 2]),
        new("SeparableConv1D", """{"filters": 3, "kernel_size": 2}""", [6, 2]),
        new("SeparableConv2D", """{"filters": 3, "kernel_size": [2, 2]}""", [5, 5, 2]),
        // pooling
        new("MaxPooling1D", """{"pool_size": 2}""", [6, 2]),
        new("MaxPooling2D", """{"pool_size": [2, 2]}""", [4, 4, 2]),
        new("MaxPooling3D", """{"pool_size": [2, 2, 2]}""", [4, 4, 4, 2]),
        new("AveragePooling1D", """{"pool_size": 2}""", [6, 2]),
        new("AveragePooling2D", """{"pool_size": [2, 2]}""", [4, 4, 2]),
        new("AveragePooling3D", """{"pool_size": [2, 2, 2]}""", [4, 4, 4, 2]),
        new("GlobalAveragePooling1D", "{}", [6, 2]),
        new("GlobalAveragePooling2D", "{}", [4, 4, 2]),
        new("GlobalAveragePooling3D", "{}", [3, 3, 3, 2]),
        new("GlobalMaxPooling1D", "{}", [6, 2]),
        new("GlobalMaxPooling2D", "{}", [4, 4, 2]),
        new("GlobalMaxPooling3D", "{}", [3, 3, 3, 2]),
        // normalization
        new("BatchNormalization", "{}", [5]),
        new("LayerNormalization", "{}", [5]),
        // recurrent
        new("SimpleRNN", """{"units": 3}""", [5, 2]),
        new("LSTM", """{"units": 3}""", [5, 2]),
        new("GRU", """{"units": 3}""", [5, 2]),
        new("Bidirectional", """{"layer": {"class_name": "LSTM", "config": {"units": 3}}}""", [5, 2]),
        new("TimeDistributed", """{"layer": {"class_name": "Dense", "config": {"units": 3}}}""", [5, 2]),
        // attention and sequence models
        new("Attention", "{}", [4, 3], Arrangement.SelfAttention),
        new("AdditiveAttention", "{}", [4, 3], Arrangement.SelfAttention),
        new("MultiHeadAttention", """{"num_heads": 2, "key_dim": 2}""", [4, 3], Arrangement.SelfAttention),
        new("PositionEmbedding", """{"sequence_length": 4}""", [4, 3]) { ReachesInput = false },
        new("SinePositionEncoding", "{}", [4, 4]) { ReachesInput = false },
        new("TransformerEncoder", """{"intermediate_dim": 8, "num_heads": 2}""", [4, 4]),
        new("S4D", """{"state_dim": 4}""", [5, 3]),
        new("MambaBlock", """{"d_state": 4, "d_conv": 2, "expand": 2}""", [5, 4]),
    ];
}
