using NeuralService.Graph.Layers;

namespace NeuralService.Graph.Keras;

public static partial class LayerRegistry
{
    /// <summary>Attention, normalization and sequence-model layers (Keras core, keras-hub and state-space layers).</summary>
    static partial void AddAttention(List<Entry> entries) => entries.AddRange([
        Of<LayerNormalizationConfig>("LayerNormalization", c => new LayerNormalization(c)),
        Of<AttentionConfig>("Attention", c => new Attention(c)),
        Of<AdditiveAttentionConfig>("AdditiveAttention", c => new AdditiveAttention(c)),
        Of<MultiHeadAttentionConfig>("MultiHeadAttention", c => new MultiHeadAttention(c)),
        Of<PositionEmbeddingConfig>("PositionEmbedding", c => new PositionEmbedding(c)),
        Of<SinePositionEncodingConfig>("SinePositionEncoding", c => new SinePositionEncoding(c)),
        Of<TransformerEncoderConfig>("TransformerEncoder", c => new TransformerEncoder(c)),
        Of<S4DConfig>("S4D", c => new S4D(c)),
        Of<MambaBlockConfig>("MambaBlock", c => new MambaBlock(c)),
    ]);
}
