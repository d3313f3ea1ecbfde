using System.Text.Json.Nodes;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Keras;

public sealed class LayerRegistryConvolutionTests
{
    private static readonly string[] BaseKeys = ["name", "trainable", "dtype", "batch_input_shape", "batch_shape", "input_shape"];
    private const string ConvKeys = "filters kernel_size strides padding data_format dilation_rate groups activation use_bias kernel_initializer bias_initializer kernel_regularizer bias_regularizer activity_regularizer kernel_constraint bias_constraint";
    private const string TransposeKeys = "filters kernel_size strides padding output_padding data_format dilation_rate activation use_bias kernel_initializer bias_initializer kernel_regularizer bias_regularizer activity_regularizer kernel_constraint bias_constraint";
    private const string DepthwiseKeys = "depth_multiplier kernel_size strides padding data_format dilation_rate activation use_bias depthwise_initializer bias_initializer depthwise_regularizer bias_regularizer activity_regularizer depthwise_constraint bias_constraint";
    private const string SeparableKeys = "depth_multiplier filters kernel_size strides padding data_format dilation_rate activation use_bias depthwise_initializer pointwise_initializer bias_initializer depthwise_regularizer pointwise_regularizer bias_regularizer activity_regularizer depthwise_constraint pointwise_constraint bias_constraint";
    private const string PoolKeys = "pool_size padding strides data_format";
    private const string GlobalKeys = "data_format keepdims";
    private const string BatchNormKeys = "axis momentum epsilon center scale beta_initializer gamma_initializer moving_mean_initializer moving_variance_initializer beta_regularizer gamma_regularizer beta_constraint gamma_constraint synchronized renorm renorm_clipping renorm_momentum";

    /// <summary>Class name → the keys Keras 3's get_config adds to the base layer's.</summary>
    public static TheoryData<string, string> Keras3Keys => new()
    {
        { "Conv1D", ConvKeys }, { "Conv2D", ConvKeys }, { "Conv3D", ConvKeys },
        { "Conv1DTranspose", TransposeKeys }, { "Conv2DTranspose", TransposeKeys }, { "Conv3DTranspose", TransposeKeys },
        { "DepthwiseConv1D", DepthwiseKeys }, { "DepthwiseConv2D", DepthwiseKeys },
        { "SeparableConv1D", SeparableKeys }, { "SeparableConv2D", SeparableKeys },
        { "MaxPooling1D", PoolKeys }, { "MaxPooling2D", PoolKeys }, { "MaxPooling3D", PoolKeys },
        { "AveragePooling1D", PoolKeys }, { "AveragePooling2D", PoolKeys }, { "AveragePooling3D", PoolKeys },
        { "GlobalAveragePooling1D", GlobalKeys }, { "GlobalAveragePooling2D", GlobalKeys }, { "GlobalAveragePooling3D", GlobalKeys },
        { "GlobalMaxPooling1D", GlobalKeys }, { "GlobalMaxPooling2D", GlobalKeys }, { "GlobalMaxPooling3D", GlobalKeys },
        { "BatchNormalization", BatchNormKeys },
        { "UpSampling1D", "size" }, { "UpSampling2D", "size data_format interpolation" }, { "UpSampling3D", "size data_format" },
        { "ZeroPadding1D", "padding data_format" }, { "ZeroPadding2D", "padding data_format" }, { "ZeroPadding3D", "padding data_format" },
        { "Cropping1D", "cropping" }, { "Cropping2D", "cropping data_format" }, { "Cropping3D", "cropping data_format" },
    };

    [Theory]
    [MemberData(nameof(Keras3Keys))]
    public void WritesExactlyKeras3Keys(string className, string keys)
    {
        var entry = LayerRegistry.Find(className) ?? throw new Xunit.Sdk.XunitException($"{className} is not registered");
        var minimal = new JsonObject();
        if (className.Contains("Conv") && !className.StartsWith("Depthwise", StringComparison.Ordinal)) minimal["filters"] = 2;
        var config = KerasJson.ReadConfig(minimal, entry.ConfigType);
        var layer = entry.Create(config);
        Assert.Equal(className, layer.ClassName);
        var written = KerasJson.WriteConfig(config).Select(p => p.Key).Except(BaseKeys).Order().ToArray();
        Assert.Equal(keys.Split(' ').Order().ToArray(), written);
    }

    [Fact]
    public void ReadsEveryCorpusConfigOfTheseLayersAndKeepsItsKeys()
    {
        var seen = new HashSet<string>();
        foreach (var file in RepoPaths.KerasCorpusFiles())
            foreach (var (className, config) in LayerObjects(JsonNode.Parse(File.ReadAllText(file))))
            {
                if (LayerRegistry.Find(className) is not { } entry || !Keras3Keys.Any(k => (string)k[0] == className)) continue;
                var read = KerasJson.ReadConfig(config, entry.ConfigType);
                _ = entry.Create(read);
                var written = KerasJson.WriteConfig(read);
                Assert.All(config.Select(p => p.Key), k => Assert.True(written.ContainsKey(k), $"{className} in {Path.GetFileName(file)} lost '{k}'"));
                seen.Add(className);
            }
        Assert.Superset(new HashSet<string> { "Conv1D", "Conv2D", "Conv2DTranspose", "MaxPooling1D", "MaxPooling2D", "BatchNormalization", "UpSampling2D", "GlobalAveragePooling1D" }, seen);
    }

    [Fact]
    public void ReadsKeras2LegacyForms()
    {
        var bn = (BatchNormalizationConfig)KerasJson.ReadConfig(JsonNode.Parse("""
            {"name": "bn", "trainable": true, "axis": [3], "momentum": 0.9, "epsilon": 1e-5, "center": true, "scale": false,
             "beta_initializer": "zeros", "gamma_initializer": "ones", "moving_mean_initializer": "zeros",
             "moving_variance_initializer": "ones", "beta_regularizer": null, "gamma_regularizer": null,
             "beta_constraint": null, "gamma_constraint": null}
            """)!.AsObject(), typeof(BatchNormalizationConfig));
        Assert.Equal([3], bn.Axis);
        Assert.Equal(3, KerasJson.WriteConfig(bn)["axis"]!.GetValue<int>());

        var dw = (DepthwiseConvConfig)KerasJson.ReadConfig(JsonNode.Parse("""
            {"name": "dw", "trainable": true, "dtype": "float32", "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
             "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "linear", "use_bias": false,
             "bias_initializer": {"class_name": "Zeros", "config": {}}, "bias_regularizer": null, "activity_regularizer": null,
             "bias_constraint": null, "depth_multiplier": 1,
             "depthwise_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
             "depthwise_regularizer": null, "depthwise_constraint": null}
            """)!.AsObject(), typeof(DepthwiseConvConfig));
        Assert.Equal([3, 3], new DepthwiseConv2D(dw).Config.KernelSize);

        var pad = (ZeroPaddingConfig)KerasJson.ReadConfig(JsonNode.Parse("""{"name": "zp", "padding": [[1, 2], [3, 4]], "data_format": "channels_last"}""")!.AsObject(), typeof(ZeroPaddingConfig));
        Assert.Equal([(1L, 2L), (3L, 4L)], new ZeroPadding2D(pad).Amounts);
        Assert.Equal("[[1,2],[3,4]]", KerasJson.WriteConfig(pad)["padding"]!.ToJsonString());
    }

    [Fact]
    public void RejectsUnknownArguments() =>
        Assert.ThrowsAny<System.Text.Json.JsonException>(() =>
            KerasJson.ReadConfig(JsonNode.Parse("""{"filters": 2, "kernel_size": 3, "no_such_arg": 1}""")!.AsObject(), typeof(ConvConfig)));

    private static IEnumerable<(string, JsonObject)> LayerObjects(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["class_name"] is JsonValue cn && cn.TryGetValue<string>(out var name) && o["config"] is JsonObject cfg)
                    yield return (name, cfg);
                foreach (var (_, v) in o)
                    foreach (var x in LayerObjects(v)) yield return x;
                break;
            case JsonArray a:
                foreach (var v in a)
                    foreach (var x in LayerObjects(v)) yield return x;
                break;
        }
    }
}
