using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using NeuralService.Graph.Layers;

namespace NeuralService.Graph.Keras;

/// <summary>JSON settings for layer configs: Keras's snake_case names, ints-or-lists for tuples, and unknown
/// arguments rejected (the reader turns that into an error naming the argument and its JSON path).</summary>
public static class KerasJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new IntTupleConverter() },
        WriteIndented = false,
    };

    /// <summary>Reads a layer config object into its record type.</summary>
    public static LayerConfig ReadConfig(JsonObject config, Type configType) =>
        (LayerConfig)(config.Deserialize(configType, Options) ?? throw new JsonException("config is null"));

    public static TConfig ReadConfig<TConfig>(string json) where TConfig : LayerConfig =>
        JsonSerializer.Deserialize<TConfig>(json, Options) ?? throw new JsonException("config is null");

    /// <summary>Writes a layer config record as a Keras config object.</summary>
    public static JsonObject WriteConfig(LayerConfig config) =>
        JsonSerializer.SerializeToNode(config, config.GetType(), Options)!.AsObject();
}
