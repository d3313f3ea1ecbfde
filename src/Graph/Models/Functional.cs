using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;

namespace NeuralService.Graph.Models;

/// <summary>A model defined by a graph of layer calls from its inputs to its outputs (Keras's functional API).</summary>
public sealed class Functional : Model
{
    private readonly List<LayerNode> _nodes;
    private readonly List<Layer> _layers;

    public Functional(IReadOnlyList<KerasTensor> inputs, IReadOnlyList<KerasTensor> outputs, string? name = null)
        : this(inputs, outputs, new ModelConfig { Name = name }) { }

    public Functional(KerasTensor input, KerasTensor output, string? name = null) : this([input], [output], name) { }

    public Functional(IReadOnlyList<KerasTensor> inputs, IReadOnlyList<KerasTensor> outputs, ModelConfig config) : base(config)
    {
        if (inputs.Count == 0) throw new GraphException($"model '{Name}' has no inputs");
        if (outputs.Count == 0) throw new GraphException($"model '{Name}' has no outputs");
        foreach (var i in inputs)
            if (i.Layer is not InputLayer)
                throw new GraphException($"model '{Name}': input {i} does not come from an InputLayer");
        Config = config;
        Inputs = inputs;
        Outputs = outputs;
        _nodes = OrderNodes(inputs, outputs);
        _layers = inputs.Select(i => i.Layer).Concat(_nodes.Select(n => n.Layer)).Distinct().ToList();
        EnsureBuilt(inputs.Select(i => new TensorType(i.DType, i.Shape)).ToList());
    }

    public override ModelConfig Config { get; }
    public override IReadOnlyList<Layer> Layers => _layers;
    public override IReadOnlyList<KerasTensor> Inputs { get; }
    public override IReadOnlyList<KerasTensor> Outputs { get; }
    /// <summary>The layer calls in execution order (input layers excluded).</summary>
    public IReadOnlyList<LayerNode> Nodes => _nodes;

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        if (inputs.Count != Inputs.Count) throw new ShapeException($"model '{Name}' takes {Inputs.Count} inputs, got {inputs.Count}");
        var values = new Dictionary<KerasTensor, Value>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < inputs.Count; i++) values[Inputs[i]] = inputs[i];
        var outer = ctx.Arguments;
        foreach (var node in _nodes)
        {
            ctx.Arguments = node.Arguments;
            var outs = node.Layer.Emit(g, node.Inputs.Select(t => values[t]).ToList(), ctx);
            if (outs.Count != node.Outputs.Count)
                throw new ShapeException($"layer '{node.Layer.Name}' gave {outs.Count} outputs where {node.Outputs.Count} were traced");
            for (var k = 0; k < outs.Count; k++) values[node.Outputs[k]] = outs[k];
        }
        ctx.Arguments = outer;
        return Outputs.Select(o => values[o]).ToList();
    }

    /// <summary>Depth-first from the outputs: every node after the nodes it depends on.</summary>
    private List<LayerNode> OrderNodes(IReadOnlyList<KerasTensor> inputs, IReadOnlyList<KerasTensor> outputs)
    {
        var order = new List<LayerNode>();
        var done = new HashSet<LayerNode>(ReferenceEqualityComparer.Instance);
        var active = new HashSet<LayerNode>(ReferenceEqualityComparer.Instance);
        var inputSet = inputs.ToHashSet(ReferenceEqualityComparer.Instance);
        void Visit(KerasTensor t)
        {
            if (inputSet.Contains(t)) return;
            var node = t.Node;
            if (done.Contains(node)) return;
            if (node.Layer is InputLayer)
                throw new GraphException($"model '{Name}': output depends on input '{node.Layer.Name}', which is not among the model's inputs");
            if (!active.Add(node)) throw new GraphException($"model '{Name}': cycle through layer '{node.Layer.Name}'");
            foreach (var i in node.Inputs) Visit(i);
            active.Remove(node);
            done.Add(node);
            order.Add(node);
        }
        foreach (var o in outputs) Visit(o);
        return order;
    }
}
