using System.Text.Json.Nodes;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Keras;

public sealed class LayerRegistryAttentionTests
{
    private static IEnumerable<JsonObject> LayersOf(JsonNode? node, string className)
    {
        if (node is JsonObject o)
        {
            if (o["class_name"]?.GetValue<string>() == className && o["config"] is JsonObject c) yield return c;
            foreach (var (_, v) in o) foreach (var x in LayersOf(v, className)) yield return x;
        }
        else if (node is JsonArray a)
            foreach (var v in a) foreach (var x in LayersOf(v, className)) yield return x;
    }

    [Theory]
    [InlineData("018-electricity-transformer-k3.json", "MultiHeadAttention")]
    [InlineData("018-electricity-transformer-k3.json", "LayerNormalization")]
    [InlineData("019-voice-transformer-k3.json", "MultiHeadAttention")]
    [InlineData("019-voice-transformer-k3.json", "LayerNormalization")]
    public void CorpusConfigsReadAndRoundTripEveryKey(string file, string className)
    {
        var root = JsonNode.Parse(File.ReadAllText(RepoPaths.KerasCorpusFile(file)));
        var configs = LayersOf(root, className).ToList();
        Assert.NotEmpty(configs);
        var entry = LayerRegistry.Find(className)!;
        foreach (var config in configs)
        {
            var read = KerasJson.ReadConfig(config, entry.ConfigType);
            var written = KerasJson.WriteConfig(read);
            foreach (var (key, _) in config) Assert.True(written.ContainsKey(key), $"{className} config lost key '{key}'");
            var layer = entry.Create(read);
            Assert.Equal(config["name"]!.GetValue<string>(), layer.Name);
        }
    }

    [Fact]
    public void MultiHeadAttentionConfigFieldsAreRead()
    {
        var root = JsonNode.Parse(File.ReadAllText(RepoPaths.KerasCorpusFile("018-electricity-transformer-k3.json")));
        var c = (MultiHeadAttentionConfig)KerasJson.ReadConfig(LayersOf(root, "MultiHeadAttention").First(), typeof(MultiHeadAttentionConfig));
        Assert.Equal((2, 64, 64, 0.1), (c.NumHeads, c.KeyDim, c.ValueDim!.Value, c.Dropout));
        Assert.Equal([1], c.AttentionAxes!);
        Assert.Null(c.OutputShape);
    }

    [Fact]
    public void AttentionConfigHasKerasKeys()
    {
        var json = KerasJson.WriteConfig(new AttentionConfig { Name = "attention", UseScale = true, ScoreMode = "concat", Dropout = 0.1 });
        foreach (var key in new[] { "name", "trainable", "dtype", "use_scale", "score_mode", "dropout" }) Assert.True(json.ContainsKey(key), key);
        var back = KerasJson.ReadConfig<AttentionConfig>(json.ToJsonString());
        Assert.Equal("concat", back.ScoreMode);
    }

    [Theory]
    [InlineData("LayerNormalization")]
    [InlineData("Attention")]
    [InlineData("AdditiveAttention")]
    [InlineData("MultiHeadAttention")]
    [InlineData("PositionEmbedding")]
    [InlineData("SinePositionEncoding")]
    [InlineData("TransformerEncoder")]
    [InlineData("S4D")]
    [InlineData("MambaBlock")]
    public void EveryLayerIsRegistered(string className) => Assert.NotNull(LayerRegistry.Find(className));
}

public sealed class KerasHubConfigTests
{
    [Fact]
    public void KerasHubConfigsRead()
    {
        const string dtype = """{"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}""";
        const string glorot = """{"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null}, "registered_name": null}""";
        var encoder = KerasJson.ReadConfig<TransformerEncoderConfig>($$"""
            {"name": "transformer_encoder", "trainable": true, "dtype": {{dtype}}, "intermediate_dim": 64, "num_heads": 4,
             "dropout": 0.1, "activation": "gelu", "layer_norm_epsilon": 1e-05, "kernel_initializer": {{glorot}},
             "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null},
             "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "normalize_first": true}
            """);
        Assert.Equal((64, 4, "gelu", true), (encoder.IntermediateDim, encoder.NumHeads, encoder.Activation, encoder.NormalizeFirst));
        var pe = KerasJson.ReadConfig<PositionEmbeddingConfig>($$"""
            {"name": "position_embedding", "trainable": true, "dtype": {{dtype}}, "sequence_length": 128, "hierarchical_alpha": 0.4, "initializer": {{glorot}}}
            """);
        Assert.Equal(128, pe.SequenceLength);
        var sine = KerasJson.ReadConfig<SinePositionEncodingConfig>("""{"name": "sine_position_encoding", "trainable": true, "max_wavelength": 500}""");
        Assert.Equal(500, sine.MaxWavelength);
    }

    [Fact]
    public void StateSpaceConfigsRoundTrip()
    {
        var s4 = new S4DConfig { Name = "s4d", StateDim = 8, ReturnSequences = true };
        Assert.Equal(s4, KerasJson.ReadConfig<S4DConfig>(KerasJson.WriteConfig(s4).ToJsonString()));
        var mamba = new MambaBlockConfig { Name = "mamba", DState = 4, DtRank = 2 };
        var json = KerasJson.WriteConfig(mamba);
        Assert.True(json.ContainsKey("d_state") && json.ContainsKey("dt_rank"));
        Assert.Equal(mamba, KerasJson.ReadConfig<MambaBlockConfig>(json.ToJsonString()));
    }
}
