using System.Text.Json.Nodes;
using NeuralService.Graph.Keras;

namespace NeuralService.Graph.Layers;

/// <summary>Nested serialized layers of wrapper layers (Bidirectional, TimeDistributed): <c>{"class_name": ..., "config": {...}}</c>.</summary>
public static class WrappedLayers
{
    /// <summary>Creates a layer from its serialized form, after <paramref name="edit"/> has changed a copy of its config.</summary>
    public static Layer Create(JsonObject serialized, string owner, Action<JsonObject>? edit = null)
    {
        var className = serialized["class_name"]?.GetValue<string>()
            ?? throw new ArgumentException($"{owner}: the wrapped layer has no 'class_name'");
        var entry = LayerRegistry.Find(className) ?? throw new ArgumentException($"{owner}: unknown wrapped layer class '{className}'");
        var config = serialized["config"] is JsonObject c ? (JsonObject)c.DeepClone() : new JsonObject();
        edit?.Invoke(config);
        try
        {
            return entry.Create(KerasJson.ReadConfig(config, entry.ConfigType));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new ArgumentException($"{owner}: cannot read the config of wrapped layer '{className}': {e.Message}", e);
        }
    }

    /// <summary>A layer's serialized form (Keras 3 style).</summary>
    public static JsonObject Serialize(Layer layer) => new()
    {
        ["module"] = "keras.layers",
        ["class_name"] = layer.ClassName,
        ["config"] = KerasJson.WriteConfig(layer.Config),
        ["registered_name"] = null,
    };
}
