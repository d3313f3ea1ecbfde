using System.Text.Json;
using System.Text.Json.Serialization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Ops;
using Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Geometry shared by the convolution, pooling and resampling layers: Keras's data formats, tuple
/// arguments and padding modes, translated to the NC+spatial layout that ONNX's window ops expect.</summary>
public static class Spatial
{
    public const string ChannelsLast = "channels_last";
    public const string ChannelsFirst = "channels_first";

    /// <summary>Validates a data_format; null means Keras's default image_data_format, channels_last.</summary>
    public static bool IsChannelsLast(string? dataFormat) => (dataFormat ?? ChannelsLast) switch
    {
        ChannelsLast => true,
        ChannelsFirst => false,
        var f => throw new ArgumentException($"data_format must be 'channels_last' or 'channels_first', got '{f}'"),
    };

    /// <summary>Keras's standardize_tuple: one int for every axis, or exactly <paramref name="rank"/> ints.</summary>
    public static long[] Tuple(int[]? values, int rank, string what, int defaultValue, bool allowZero = false)
    {
        values ??= [defaultValue];
        var result = values.Length == 1 ? Enumerable.Repeat((long)values[0], rank).ToArray()
            : values.Length == rank ? values.Select(v => (long)v).ToArray()
            : throw new ArgumentException($"{what} must be an int or {rank} ints, got [{string.Join(", ", values)}]");
        if (result.Any(v => allowZero ? v < 0 : v <= 0))
            throw new ArgumentException($"{what} must be {(allowZero ? "non-negative" : "positive")}, got [{string.Join(", ", values)}]");
        return result;
    }

    /// <summary>Lower-cased padding mode checked against the allowed ones.</summary>
    public static string Padding(string? padding, params string[] allowed)
    {
        var p = (padding ?? "valid").ToLowerInvariant();
        return allowed.Contains(p) ? p : throw new ArgumentException($"padding must be one of {string.Join("/", allowed)}, got '{padding}'");
    }

    /// <summary>[N, *spatial, C] → [N, C, *spatial] (identity for channels_first).</summary>
    public static Value ToChannelsFirst(GraphBuilder g, Value x, bool channelsLast)
    {
        if (!channelsLast) return x;
        var r = x.Rank;
        long[] perm = [0, r - 1, .. Enumerable.Range(1, r - 2).Select(i => (long)i)];
        return g.Node1("Transpose", [x], [Attr.Ints("perm", perm)], name: "ToChannelsFirst");
    }

    /// <summary>[N, C, *spatial] → [N, *spatial, C] (identity for channels_first).</summary>
    public static Value ToChannelsLast(GraphBuilder g, Value y, bool channelsLast)
    {
        if (!channelsLast) return y;
        var r = y.Rank;
        long[] perm = [0, .. Enumerable.Range(2, r - 2).Select(i => (long)i), 1];
        return g.Node1("Transpose", [y], [Attr.Ints("perm", perm)], name: "ToChannelsLast");
    }

    /// <summary>The channel dim of a [N, *spatial, C] or [N, C, *spatial] input of the expected rank.</summary>
    public static long Channels(TensorType input, int spatialRank, bool channelsLast, string layer)
    {
        if (input.Shape.Rank != spatialRank + 2)
            throw new ArgumentException($"{layer} expects a rank-{spatialRank + 2} input, got {input.Shape}");
        var c = input.Shape[channelsLast ? -1 : 1];
        return c.IsKnown ? c.Known : throw new ArgumentException($"{layer} needs a known channel dim, got {input.Shape}");
    }

    /// <summary>Window attributes for an NC+spatial input: explicit pads for valid/causal and for 'same' where the
    /// pads do not depend on an unknown length; otherwise ONNX's SAME_UPPER, which is TensorFlow's 'same'
    /// (the odd pad goes at the end).</summary>
    public static List<AttributeProto> WindowAttributes(Shape nc, string padding, long[] kernel, long[] strides, long[]? dilations)
    {
        var n = kernel.Length;
        dilations ??= Enumerable.Repeat(1L, n).ToArray();
        var attrs = new List<AttributeProto> { Attr.Ints("kernel_shape", kernel), Attr.Ints("strides", strides) };
        var pads = new long[2 * n];
        for (var i = 0; i < n; i++)
        {
            var effective = (kernel[i] - 1) * dilations[i] + 1;
            switch (padding)
            {
                case "causal":
                    pads[i] = effective - 1;
                    break;
                case "same":
                    var d = nc[i + 2];
                    if (!d.IsKnown && strides[i] != 1)
                    {
                        attrs.Add(Attr.String("auto_pad", "SAME_UPPER"));
                        return attrs;
                    }
                    var (begin, end) = d.IsKnown
                        ? ShapeMath.SamePads(d.Known, kernel[i], strides[i], dilations[i])
                        : ((effective - 1) / 2, effective - 1 - (effective - 1) / 2);
                    pads[i] = begin;
                    pads[i + n] = end;
                    break;
            }
        }
        attrs.Add(Attr.Ints("pads", pads));
        return attrs;
    }
}

/// <summary>Keras's per-axis (begin, end) amounts (<c>padding</c> of ZeroPadding, <c>cropping</c> of Cropping):
/// an int, one int per axis, or one pair per axis. Reads all three; writes what was read.</summary>
public sealed class IntPairsConverter : JsonConverter<int[][]>
{
    public override int[][]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null) return null;
        if (reader.TokenType == JsonTokenType.Number) return [[reader.GetInt32()]];
        if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException($"expected an int or a list, got {reader.TokenType}");
        var outer = new List<int[]>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType == JsonTokenType.Number) { outer.Add([reader.GetInt32()]); continue; }
            if (reader.TokenType != JsonTokenType.StartArray) throw new JsonException($"expected an int or a pair, got {reader.TokenType}");
            var inner = new List<int>();
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                if (reader.TokenType != JsonTokenType.Number) throw new JsonException($"expected an int, got {reader.TokenType}");
                inner.Add(reader.GetInt32());
            }
            outer.Add(inner.ToArray());
        }
        return outer.ToArray();
    }

    public override void Write(Utf8JsonWriter writer, int[][] value, JsonSerializerOptions options)
    {
        if (value.Length == 1 && value[0].Length == 1) { writer.WriteNumberValue(value[0][0]); return; }
        writer.WriteStartArray();
        foreach (var pair in value)
        {
            if (pair.Length == 1) { writer.WriteNumberValue(pair[0]); continue; }
            writer.WriteStartArray();
            foreach (var v in pair) writer.WriteNumberValue(v);
            writer.WriteEndArray();
        }
        writer.WriteEndArray();
    }

    /// <summary>Per-axis (begin, end): an int for all, a flat list (one per axis, or (begin, end) when
    /// <paramref name="rank"/> is 1), or a pair per axis.</summary>
    public static (long Begin, long End)[] Normalize(int[][] value, int rank, string what)
    {
        string Fmt() => "[" + string.Join(", ", value.Select(p => p.Length == 1 ? p[0].ToString() : "(" + string.Join(", ", p) + ")")) + "]";
        (long, long)[] result;
        if (value.Length == 1 && value[0].Length == 1) result = Enumerable.Repeat(((long)value[0][0], (long)value[0][0]), rank).ToArray();
        else if (rank == 1 && value.Length == 2 && value.All(p => p.Length == 1)) result = [(value[0][0], value[1][0])];
        else if (rank == 1 && value.Length == 1 && value[0].Length == 2) result = [(value[0][0], value[0][1])];
        else if (value.Length == rank && value.All(p => p.Length is 1 or 2))
            result = value.Select(p => p.Length == 1 ? ((long)p[0], (long)p[0]) : ((long)p[0], (long)p[1])).ToArray();
        else throw new ArgumentException($"{what} must be an int, {rank} ints or {rank} pairs, got {Fmt()}");
        if (result.Any(p => p.Item1 < 0 || p.Item2 < 0)) throw new ArgumentException($"{what} must be non-negative, got {Fmt()}");
        return result;
    }
}

/// <summary>Keras 3 writes an int axis, Keras 2 sometimes a list (<c>"axis": [3]</c>): reads both, writes an int
/// when there is one.</summary>
public sealed class IntOrListConverter : JsonConverter<int[]>
{
    public override int[]? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        new IntTupleConverter().Read(ref reader, typeToConvert, options);

    public override void Write(Utf8JsonWriter writer, int[] value, JsonSerializerOptions options)
    {
        if (value.Length == 1) writer.WriteNumberValue(value[0]);
        else new IntTupleConverter().Write(writer, value, options);
    }
}
