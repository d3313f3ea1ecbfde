using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Layers;

public sealed record InputLayerConfig : LayerConfig
{
    public bool Sparse { get; init; }
    public bool Ragged { get; init; }
    public bool Optional { get; init; }
}

/// <summary>The entry point of a functional model; <see cref="Input.Of(int[])"/> creates one and returns its tensor.</summary>
public sealed class InputLayer : Layer
{
    public InputLayer(InputLayerConfig config) : base(config)
    {
        Config = config;
        var shape = config.DeclaredInputShape ?? throw new ArgumentException($"InputLayer '{Name}' needs batch_shape or batch_input_shape");
        if (shape.Length == 0) throw new ArgumentException($"InputLayer '{Name}' has an empty shape");
        if (shape.Skip(1).Any(d => d is <= 0)) throw new ArgumentException($"InputLayer '{Name}': shape {Fmt(shape)} has a non-positive dim");
        DType = config.Dtype is { } d ? DtypeName.Parse(d) : DataType.Float;
        Output = AddInputNode(Shape.FromKeras(shape), DType);
    }

    public override InputLayerConfig Config { get; }
    public DataType DType { get; }
    public KerasTensor Output { get; }

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx) => inputs;

    private static string Fmt(int?[] s) => "(" + string.Join(", ", s.Select(d => d?.ToString() ?? "None")) + ")";
}

/// <summary><c>keras.Input</c>: the functional API's entry point.</summary>
public static class Input
{
    /// <summary><c>keras.Input(shape=...)</c>: <paramref name="shape"/> excludes the batch dim (null = any length).</summary>
    public static KerasTensor Of(int?[] shape, string? name = null, DataType dtype = DataType.Float, int? batchSize = null) =>
        new InputLayer(new InputLayerConfig
        {
            Name = name,
            BatchShape = [batchSize, .. shape],
            Dtype = System.Text.Json.Nodes.JsonValue.Create(DataTypes.ToName(dtype)),
        }).Output;

    public static KerasTensor Of(params int[] shape) => Of(shape.Select(d => (int?)d).ToArray());
}

/// <summary>Reads Keras's dtype field: "float32" or a DTypePolicy object.</summary>
public static class DtypeName
{
    public static DataType Parse(System.Text.Json.Nodes.JsonNode node) => node switch
    {
        System.Text.Json.Nodes.JsonValue v when v.TryGetValue<string>(out var s) => FromPolicy(s),
        System.Text.Json.Nodes.JsonObject o => FromPolicy(o["config"]?["name"]?.GetValue<string>() ?? "float32"),
        _ => DataType.Float,
    };

    // Mixed precision policies ("mixed_float16") compute in float16 but keep float32 variables; we stay in float32.
    private static DataType FromPolicy(string s) => s.StartsWith("mixed_", StringComparison.Ordinal) ? DataType.Float : DataTypes.FromName(s);
}
