using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace NeuralService.Graph.Keras;

/// <summary>A Keras serialized object reference (initializer, regularizer, constraint): a class name and its config.
/// Reads both <c>"glorot_uniform"</c> and <c>{"class_name": "GlorotUniform", "config": {...}}</c>; writes the Keras 3 form.</summary>
[JsonConverter(typeof(ObjectSpecConverter))]
public sealed record ObjectSpec(string ClassName, JsonObject? Config = null)
{
    public static ObjectSpec Of(string name) => new(name);

    public double GetDouble(string key, double defaultValue) =>
        Config?[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : defaultValue;

    public string? GetString(string key) => Config?[key] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public int? GetInt(string key) => Config?[key] is JsonValue v && v.TryGetValue<int>(out var i) ? i : null;

    /// <summary>Keras's canonical snake_case name: GlorotUniform → glorot_uniform.</summary>
    public string SnakeName => KerasNames.ToSnakeCase(ClassName);

    public bool Equals(ObjectSpec? other) =>
        other is not null && SnakeName == other.SnakeName && JsonNode.DeepEquals(Config, other.Config);

    public override int GetHashCode() => SnakeName.GetHashCode();
}

/// <summary>Reads a Keras serialized object, writes the Keras 3 form.</summary>
public sealed class ObjectSpecConverter : JsonConverter<ObjectSpec>
{
    public override ObjectSpec? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                return new ObjectSpec(reader.GetString()!);
            case JsonTokenType.StartObject:
                var node = JsonNode.Parse(ref reader)!.AsObject();
                var cls = node["class_name"]?.GetValue<string>() ?? throw new JsonException("serialized object has no 'class_name'");
                return new ObjectSpec(cls, node["config"] as JsonObject is { } c ? (JsonObject)c.DeepClone() : null);
            default:
                throw new JsonException($"expected a name or an object, got {reader.TokenType}");
        }
    }

    public override void Write(Utf8JsonWriter writer, ObjectSpec value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("module", ModuleOf(value.ClassName));
        writer.WriteString("class_name", KerasNames.ToPascalCase(value.ClassName));
        writer.WritePropertyName("config");
        (value.Config ?? new JsonObject()).WriteTo(writer, options);
        writer.WriteNull("registered_name");
        writer.WriteEndObject();
    }

    private static string ModuleOf(string className) => KerasNames.ToSnakeCase(className) switch
    {
        "l1" or "l2" or "l1l2" or "l1_l2" or "orthogonal_regularizer" => "keras.regularizers",
        "max_norm" or "min_max_norm" or "non_neg" or "unit_norm" => "keras.constraints",
        _ => "keras.initializers",
    };
}

/// <summary>Keras tuples: an int or a list of ints (<c>kernel_size: 3</c> or <c>[3, 3]</c>).</summary>
public sealed class IntTupleConverter : JsonConverter<int[]>
{
    public override int[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType == JsonTokenType.Number) return [reader.GetInt32()];
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException($"expected an int or a list of ints, got {reader.TokenType}");
        var list = new List<int>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number) throw new JsonException($"expected an int, got {reader.TokenType}");
            list.Add(reader.GetInt32());
        }
        return list.ToArray();
    }

    public override void Write(Utf8JsonWriter writer, int[] value, JsonSerializerOptions options)
    {
        writer.WriteStartArray();
        foreach (var v in value) writer.WriteNumberValue(v);
        writer.WriteEndArray();
    }
}
