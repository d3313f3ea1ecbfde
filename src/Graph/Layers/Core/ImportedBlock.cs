using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Layers;

/// <summary>Where an <see cref="ImportedBlock"/>'s graph came from and the two values it was cut between.</summary>
public sealed record ImportedBlockConfig : LayerConfig
{
    /// <summary>The source model, as given (a file name); informative only.</summary>
    public string Source { get; init; } = "";
    public string Input { get; init; } = "";
    public string Output { get; init; } = "";
}

/// <summary>A piece of a pretrained ONNX model (a <see cref="GraphCut"/>) as a layer, so that a Keras-style model can
/// put a new head on it, freeze it, and later unfreeze it for fine-tuning. Its weights are the cut's float initializers
/// under their source names. BatchNormalization runs as imported, in inference mode: its mean and variance are
/// non-trainable weights (frozen statistics, as Keras recommends when fine-tuning a pretrained base), its scale and bias
/// train with the convolutions whenever the layer is trainable.</summary>
public sealed class ImportedBlock : Layer
{
    private readonly List<Weight> _weights = [];
    private readonly Dictionary<string, Weight> _byName = new(StringComparer.Ordinal);

    public ImportedBlock(GraphCut cut, ImportedBlockConfig config) : base(config)
    {
        Cut = cut;
        Config = config with { Input = cut.Input, Output = cut.Output };
        var statistics = cut.Nodes.Where(n => n.OpType == "BatchNormalization").SelectMany(n => n.Input.Skip(3).Take(2)).ToHashSet(StringComparer.Ordinal);
        foreach (var t in cut.Initializers.Where(t => Tensors.TypeOf(t) == DataType.Float))
        {
            var w = new Weight(this, t.Name, Tensors.DimsOf(t), Tensors.ToFloats(t), trainable: !statistics.Contains(t.Name));
            _weights.Add(w);
            _byName[t.Name] = w;
        }
    }

    public ImportedBlock(GraphCut cut, string? name = null, string source = "", bool trainable = true)
        : this(cut, new ImportedBlockConfig { Name = name, Source = source, Trainable = trainable }) { }

    public GraphCut Cut { get; }
    public override ImportedBlockConfig Config { get; }
    public override IReadOnlyList<Weight> Weights => _weights;

    protected override void Build(IReadOnlyList<TensorType> inputs)
    {
        if (inputs.Count != 1) throw new ArgumentException($"an imported block takes one input, got {inputs.Count}");
        var expected = Cut.InputType;
        var x = inputs[0];
        // The batch dim is free; every other dim must be what the cut was imported with.
        if (x.DType != expected.DType || x.Shape.Rank != expected.Shape.Rank
            || Enumerable.Range(1, x.Shape.Rank - 1).Any(a => expected.Shape[a].IsKnown && x.Shape[a].IsKnown && expected.Shape[a].Known != x.Shape[a].Known))
            throw new ArgumentException($"the block was cut at '{Cut.Input}' of type {expected}, it cannot take {x}");
    }

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx) =>
        [Cut.Emit(g, inputs[0], t => _byName.TryGetValue(t.Name, out var w) ? Use(g, w) : g.Constant(t.Clone(), t.Name))];
}
