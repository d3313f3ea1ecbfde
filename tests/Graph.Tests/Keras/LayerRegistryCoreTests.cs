using System.Text.Json.Nodes;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Keras;

public sealed class LayerRegistryCoreTests
{
    public static readonly string[] CoreClasses =
    [
        "Embedding", "Lambda", "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "Flatten", "Reshape", "Permute",
        "RepeatVector", "Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Dot", "Dropout",
        "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise", "GaussianDropout", "ActivityRegularization",
        "Rescaling", "Normalization", "CenterCrop", "Resizing", "RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation",
        "RandomContrast", "RandomCrop",
    ];

    [Fact]
    public void EveryCoreClassIsRegisteredAndCreatesItsClass()
    {
        foreach (var name in CoreClasses)
        {
            var entry = LayerRegistry.Find(name) ?? throw new Xunit.Sdk.XunitException($"{name} is not registered");
            Assert.Equal(name, entry.ClassName);
        }
    }

    /// <summary>Minimal Keras 3 configs (required arguments only) for each class, read, created and written back.</summary>
    [Fact]
    public void ConfigsRoundTripThroughKerasJson()
    {
        var required = new Dictionary<string, string>
        {
            ["Embedding"] = """{"input_dim": 10, "output_dim": 4}""",
            ["Lambda"] = """{"expression": "x + 1"}""",
            ["Activation"] = """{"activation": "relu"}""",
            ["Reshape"] = """{"target_shape": [2, -1]}""",
            ["Permute"] = """{"dims": [2, 1]}""",
            ["RepeatVector"] = """{"n": 3}""",
            ["Dot"] = """{"axes": 1, "normalize": false}""",
            ["Dropout"] = """{"rate": 0.5, "noise_shape": null, "seed": null}""",
            ["SpatialDropout1D"] = """{"rate": 0.5, "seed": null}""",
            ["SpatialDropout2D"] = """{"rate": 0.5, "seed": null, "data_format": "channels_last"}""",
            ["SpatialDropout3D"] = """{"rate": 0.5}""",
            ["GaussianNoise"] = """{"stddev": 0.1, "seed": null}""",
            ["GaussianDropout"] = """{"rate": 0.1, "seed": null}""",
            ["Rescaling"] = """{"scale": 0.00392156862745098, "offset": 0.0}""",
            ["CenterCrop"] = """{"height": 2, "width": 2, "data_format": "channels_last"}""",
            ["Resizing"] = """{"height": 2, "width": 2}""",
            ["RandomRotation"] = """{"factor": 0.1}""",
            ["RandomZoom"] = """{"height_factor": 0.1, "width_factor": null}""",
            ["RandomTranslation"] = """{"height_factor": 0.1, "width_factor": 0.1}""",
            ["RandomContrast"] = """{"factor": 0.1}""",
            ["RandomCrop"] = """{"height": 2, "width": 2}""",
        };
        foreach (var name in CoreClasses)
        {
            var entry = LayerRegistry.Find(name)!;
            var config = JsonNode.Parse(required.GetValueOrDefault(name, "{}"))!.AsObject();
            config["name"] = $"rt_{name.ToLowerInvariant()}";
            config["trainable"] = true;
            config["dtype"] = "float32";
            var layer = entry.Create(KerasJson.ReadConfig(config, entry.ConfigType));
            Assert.Equal(name, layer.ClassName);
            var written = KerasJson.WriteConfig(layer.Config);
            var again = entry.Create(KerasJson.ReadConfig(written, entry.ConfigType));
            Assert.Equal(layer.Config, again.Config with { Name = layer.Config.Name }, new ConfigComparer());
        }
    }

    /// <summary>Records holding arrays compare by reference; compare their JSON instead.</summary>
    private sealed class ConfigComparer : IEqualityComparer<LayerConfig>
    {
        public bool Equals(LayerConfig? x, LayerConfig? y) =>
            JsonNode.DeepEquals(KerasJson.WriteConfig(x!), KerasJson.WriteConfig(y!));
        public int GetHashCode(LayerConfig obj) => 0;
    }

    [Fact]
    public void CorpusConfigsOfCoreLayersImport()
    {
        var imported = new HashSet<string>();
        foreach (var file in RepoPaths.KerasCorpusFiles())
        {
            foreach (var (cls, config) in LayerObjects(JsonNode.Parse(File.ReadAllText(file))))
            {
                if (!CoreClasses.Contains(cls) && cls != "Dense") continue;
                var entry = LayerRegistry.Find(cls)!;
                try
                {
                    var copy = (JsonObject)config.DeepClone();
                    copy.Remove("name");
                    entry.Create(KerasJson.ReadConfig(copy, entry.ConfigType));
                }
                catch (Exception e)
                {
                    throw new Xunit.Sdk.XunitException($"{Path.GetFileName(file)}: {cls} {config.ToJsonString()} failed: {e.Message}");
                }
                imported.Add(cls);
            }
        }
        Assert.Contains("Dropout", imported);
        Assert.Contains("PReLU", imported);
        Assert.Contains("Embedding", imported);
    }

    private static IEnumerable<(string Class, JsonObject Config)> LayerObjects(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                if (o["class_name"] is JsonValue v && v.TryGetValue<string>(out var cls) && o["config"] is JsonObject c)
                    yield return (cls, c);
                foreach (var (_, child) in o)
                    foreach (var x in LayerObjects(child)) yield return x;
                break;
            case JsonArray a:
                foreach (var child in a)
                    foreach (var x in LayerObjects(child)) yield return x;
                break;
        }
    }
}
