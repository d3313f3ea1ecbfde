using System.Text.Json;
using System.Text.Json.Serialization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Layers;

public sealed record RescalingConfig : LayerConfig
{
    /// <summary>One number, or one per channel (last axis).</summary>
    [JsonConverter(typeof(DoublesConverter))]
    public double[] Scale { get; init; } = [1];
    [JsonConverter(typeof(DoublesConverter))]
    public double[] Offset { get; init; } = [0];
}

/// <summary>y = x·scale + offset, per channel when scale/offset are lists (integer inputs are cast to float first).</summary>
public sealed class Rescaling : UnaryLayer
{
    public Rescaling(RescalingConfig config) : base(config)
    {
        if (config.Scale is not { Length: > 0 } || config.Offset is not { Length: > 0 } || config.Scale.Concat(config.Offset).Any(v => !double.IsFinite(v)))
            throw new ArgumentException($"Rescaling scale and offset must be finite numbers, got scale=[{string.Join(", ", config.Scale ?? [])}], offset=[{string.Join(", ", config.Offset ?? [])}]");
        Config = config;
    }

    public Rescaling(double scale, double offset = 0, string? name = null) : this(new RescalingConfig { Scale = [scale], Offset = [offset], Name = name }) { }

    public override RescalingConfig Config { get; }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        x = Preprocess.ToFloat(g, x);
        var y = g.Node1("Mul", [x, Operand(g, x, Config.Scale, "scale")]);
        return Config.Offset is [0] ? y : g.Node1("Add", [y, Operand(g, x, Config.Offset, "offset")]);
    }

    private static Value Operand(GraphBuilder g, Value x, double[] values, string name)
    {
        if (values.Length == 1) return g.Scalar(values[0], x.DType, name);
        if (x.Shape[-1].Value is { } c && c != values.Length)
            throw new ShapeException($"Rescaling {name} has {values.Length} values but the input has {c} channels");
        var v = g.Constant(values.Select(d => (float)d).ToArray(), [values.Length], name);
        return x.DType == DataType.Float ? v : g.Node1("CastLike", [v, x]);
    }
}

/// <summary>Shared pieces of the preprocessing layers.</summary>
internal static class Preprocess
{
    public static Value ToFloat(GraphBuilder g, Value x) =>
        x.DType is DataType.Float or DataType.Double or DataType.Float16 ? x : g.Node1("Cast", [x], [Attr.Int("to", (long)DataType.Float)]);

    public static void CheckDataFormat(string layer, string? format)
    {
        if (format is not (null or "channels_last" or "channels_first"))
            throw new ArgumentException($"{layer} data_format must be channels_last or channels_first, got '{format}'");
    }

    /// <summary>Height and width axes of an image batch [b, h, w, c] / [b, c, h, w] or a single image (rank 3).</summary>
    public static (int H, int W) ImageAxes(Value x, string? dataFormat, string layer)
    {
        if (x.Rank is not (3 or 4)) throw new ShapeException($"{layer} needs images of rank 3 or 4, got {x.Shape}");
        return dataFormat == "channels_first" ? (x.Rank - 2, x.Rank - 1) : (x.Rank - 3, x.Rank - 2);
    }
}

/// <summary>Keras writes factors and statistics as a number or a list of numbers.</summary>
public sealed class DoublesConverter : JsonConverter<double[]>
{
    public override double[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType == JsonTokenType.Number) return [reader.GetDouble()];
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException($"expected a number or a list of numbers, got {reader.TokenType}");
        var list = new List<double>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.StartArray)
            {
                // Nested lists (Normalization statistics of a multi-axis layer) are flattened row-major.
                list.AddRange(Read(ref reader, typeToConvert, options) ?? []);
                continue;
            }
            if (reader.TokenType != JsonTokenType.Number) throw new JsonException($"expected a number, got {reader.TokenType}");
            list.Add(reader.GetDouble());
        }
        return list.ToArray();
    }

    public override void Write(Utf8JsonWriter writer, double[] value, JsonSerializerOptions options)
    {
        if (value.Length == 1) { writer.WriteNumberValue(value[0]); return; }
        writer.WriteStartArray();
        foreach (var v in value) writer.WriteNumberValue(v);
        writer.WriteEndArray();
    }
}
