using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

public sealed record BidirectionalConfig : LayerConfig
{
    /// <summary>The serialized recurrent layer; the forward layer is made from it, and the backward one too unless
    /// <see cref="BackwardLayer"/> is given.</summary>
    public JsonObject? Layer { get; init; }
    /// <summary>"concat", "sum", "mul", "ave" or null (two outputs).</summary>
    public string? MergeMode { get; init; } = "concat";
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonObject? BackwardLayer { get; init; }
    /// <summary>Keras 2 writes it when the layer takes constants; only 0 is supported.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? NumConstants { get; init; }
}

/// <summary>Keras Bidirectional: y = merge(forward(x), reverse_time(backward(x))), the backward layer reading the
/// sequence from its end (go_backwards flipped). merge: concat on the last axis, sum, mul, ave = (a + b)/2, or none
/// (two outputs). With return_state the outputs are [merged…, forward states…, backward states…].</summary>
public sealed class Bidirectional : Layer
{
    private static readonly HashSet<string?> Modes = ["concat", "sum", "mul", "ave", null];

    public Bidirectional(BidirectionalConfig config) : base(config)
    {
        if (!Modes.Contains(config.MergeMode))
            throw new ArgumentException($"Bidirectional merge_mode must be concat, sum, mul, ave or None, got '{config.MergeMode}'");
        if (config.NumConstants is > 0) throw new ArgumentException($"Bidirectional num_constants={config.NumConstants} is not supported");
        var layer = config.Layer ?? throw new ArgumentException("Bidirectional needs a 'layer'");
        var baseName = layer["config"]?["name"]?.GetValue<string>();
        Forward = Recurrent(WrappedLayers.Create(layer, $"Bidirectional '{Name}'", c =>
        {
            c["name"] = "forward_" + RemovePrefix(baseName ?? Keras.KerasNames.Next(layer["class_name"]?.GetValue<string>() ?? "rnn"), "forward_");
            ForceZeroOutput(c);
        }));
        Backward = Recurrent(WrappedLayers.Create(config.BackwardLayer ?? layer, $"Bidirectional '{Name}'", c =>
        {
            if (config.BackwardLayer is null)
            {
                c["go_backwards"] = !(c["go_backwards"]?.GetValue<bool>() ?? false);
                c["name"] = "backward_" + RemovePrefix(baseName ?? Keras.KerasNames.Next("rnn"), "backward_");
            }
            ForceZeroOutput(c);
        }));
        if (Forward.GoBackwards == Backward.GoBackwards)
            throw new ArgumentException($"Bidirectional '{Name}': the backward layer must have go_backwards={!Forward.GoBackwards}");
        if (Forward.ReturnSequences != Backward.ReturnSequences || Forward.ReturnState != Backward.ReturnState)
            throw new ArgumentException($"Bidirectional '{Name}': forward and backward layers differ in return_sequences/return_state");
        Forward.Trainable = Backward.Trainable = Trainable;
        // Keras flips the backward half's sequence; a go_backwards layer can write it in input order directly.
        Backward.AlignedOutput = true;
        // As Keras 3's get_config: both directions as they were made (forward_/backward_ names, go_backwards, zero_output_for_mask).
        Config = config with { Layer = WrappedLayers.Serialize(Forward), BackwardLayer = WrappedLayers.Serialize(Backward) };
    }

    public Bidirectional(Layer layer, string? mergeMode = "concat", Layer? backwardLayer = null, string? name = null)
        : this(new BidirectionalConfig
        {
            Name = name, Layer = WrappedLayers.Serialize(layer), MergeMode = mergeMode,
            BackwardLayer = backwardLayer is null ? null : WrappedLayers.Serialize(backwardLayer),
        }) { }

    public override BidirectionalConfig Config { get; }
    public RecurrentLayer Forward { get; }
    public RecurrentLayer Backward { get; }
    public override IReadOnlyList<Weight> Weights => [.. Forward.Weights, .. Backward.Weights];

    /// <summary>Which emission both directions use.</summary>
    public RecurrentForm Form
    {
        get => Forward.Form;
        set => Forward.Form = Backward.Form = value;
    }

    protected override void Build(IReadOnlyList<TensorType> inputs)
    {
        if (inputs.Count != 1) throw new ArgumentException($"Bidirectional takes one input (initial states are not supported), got {inputs.Count}");
        Forward.EnsureBuilt(inputs);
        Backward.EnsureBuilt(inputs);
    }

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        if (inputs.Count != 1) throw new ShapeException($"Bidirectional takes one input, got {inputs.Count}");
        var x = inputs[0];
        var fwd = Forward.Emit(g, [x], ctx);
        var bwd = Backward.Emit(g, [x], ctx);
        var a = fwd[0];
        var b = bwd[0];
        if (Forward.ReturnSequences && !Backward.GoBackwards) b = Rnn.Reverse(g, b, Forward.TimeMajor ? 0 : 1);
        IReadOnlyList<Value> merged = Config.MergeMode switch
        {
            "concat" => [g.Node1("Concat", [a, b], [Attr.Int("axis", -1)])],
            "sum" => [g.Node1("Add", [a, b])],
            "mul" => [g.Node1("Mul", [a, b])],
            "ave" => [g.Node1("Mul", [g.Node1("Add", [a, b]), g.Scalar(0.5, a.DType, "half")], name: "Average")],
            _ => [a, b],
        };
        if (Forward.ReturnSequences && ctx.MaskOf(x) is { } mask)
            foreach (var m in merged) ctx.SetMask(m, mask);
        return Forward.ReturnState ? [.. merged, .. fwd.Skip(1), .. bwd.Skip(1)] : merged;
    }

    private void ForceZeroOutput(JsonObject c) =>
        // Keras zeroes masked outputs of both directions when they return sequences, so that merging them lines up.
        c["zero_output_for_mask"] = c["return_sequences"]?.GetValue<bool>() ?? false;

    private RecurrentLayer Recurrent(Layer layer) =>
        layer as RecurrentLayer ?? throw new ArgumentException($"Bidirectional '{Name}' wraps a recurrent layer, got {layer.ClassName}");

    private static string RemovePrefix(string s, string prefix) => s.StartsWith(prefix, StringComparison.Ordinal) ? s[prefix.Length..] : s;
}
