using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Layers;

/// <summary>A Keras layer: <see cref="Build"/> creates its weights from the input types, <see cref="Call"/> emits
/// its ONNX ops. Output shapes are never computed separately: <see cref="ApplyMulti"/>
/// traces <see cref="Call"/> on a scratch graph, so shape inference of the ops is the single source of truth.</summary>
public abstract class Layer
{
    private readonly List<Weight> _weights = [];
    private readonly List<LayerNode> _inboundNodes = [];
    private int _seedCounter;

    protected Layer(LayerConfig config)
    {
        Name = config.Name ?? KerasNames.Next(ClassName);
        if (config.Name is not null) KerasNames.Reserve(config.Name);
        Trainable = config.Trainable;
    }

    public string Name { get; }
    /// <summary>Keras's class name (<c>Dense</c>, <c>Conv2D</c>).</summary>
    public virtual string ClassName => GetType().Name;
    /// <summary>Frozen layers keep their weights out of training.</summary>
    public bool Trainable { get; set; }
    /// <summary>The immutable configuration this layer was made from; round-trips to Keras JSON.</summary>
    public abstract LayerConfig Config { get; }
    public virtual IReadOnlyList<Weight> Weights => _weights;
    public IEnumerable<Weight> TrainableWeights => Weights.Where(w => w.Trainable && w.Owner.Trainable);
    public bool IsBuilt { get; private set; }
    /// <summary>The input types the layer was built for.</summary>
    public IReadOnlyList<TensorType>? BuiltInputs { get; private set; }
    public IReadOnlyList<LayerNode> InboundNodes => _inboundNodes;
    public long CountParams() => Weights.Sum(w => w.Size);

    /// <summary>Creates the weights for these input types. Called once, before the first <see cref="Call"/>.</summary>
    protected virtual void Build(IReadOnlyList<TensorType> inputs) { }

    /// <summary>Emits the layer's computation into <paramref name="g"/>.</summary>
    public abstract IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx);

    public void EnsureBuilt(IReadOnlyList<TensorType> inputs)
    {
        if (IsBuilt) return;
        try
        {
            Build(inputs);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw new ShapeException($"layer '{Name}' ({ClassName}) cannot be built for inputs {string.Join(", ", inputs)}: {e.Message}");
        }
        BuiltInputs = inputs;
        IsBuilt = true;
    }

    /// <summary>Emits the layer under its own name scope, building it first if needed.</summary>
    public IReadOnlyList<Value> Emit(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        EnsureBuilt(inputs.Select(i => i.Type).ToList());
        using var _ = g.Scope(Name);
        try
        {
            return Call(g, inputs, ctx);
        }
        catch (ShapeException e) when (!e.Message.StartsWith("layer '", StringComparison.Ordinal))
        {
            throw new ShapeException($"layer '{Name}' ({ClassName}): {e.Message}");
        }
    }

    /// <summary>The functional API: calls the layer on symbolic tensors, recording the call.</summary>
    public IReadOnlyList<KerasTensor> ApplyMulti(IReadOnlyList<KerasTensor> inputs, IReadOnlyDictionary<string, object?>? arguments = null)
    {
        arguments ??= new Dictionary<string, object?>();
        var trace = new GraphBuilder();
        var values = inputs.Select((t, i) => trace.AddInput($"input_{i}", t.DType, t.Shape)).ToList();
        var ctx = new CallContext { Arguments = arguments };
        var outputs = Emit(trace, values, ctx);
        var node = new LayerNode(this, inputs, arguments, _inboundNodes.Count);
        node.Outputs = outputs.Select((o, i) => new KerasTensor(o.Shape, o.DType, node, i)).ToList();
        _inboundNodes.Add(node);
        return node.Outputs;
    }

    /// <summary>Calls a single-output layer (one input, or several for merge layers).</summary>
    public KerasTensor Apply(params KerasTensor[] inputs) => Single(ApplyMulti(inputs));

    /// <summary>Calls a single-output layer with Keras call arguments (e.g. <c>use_causal_mask</c>).</summary>
    public KerasTensor Apply(IReadOnlyList<KerasTensor> inputs, IReadOnlyDictionary<string, object?> arguments) => Single(ApplyMulti(inputs, arguments));

    private KerasTensor Single(IReadOnlyList<KerasTensor> outputs) =>
        outputs.Count == 1 ? outputs[0] : throw new GraphException($"layer '{Name}' has {outputs.Count} outputs; use ApplyMulti");

    /// <summary>Registers the input node of an <see cref="InputLayer"/>.</summary>
    internal KerasTensor AddInputNode(Shape shape, DataType dtype)
    {
        var node = new LayerNode(this, [], new Dictionary<string, object?>(), _inboundNodes.Count);
        var t = new KerasTensor(shape, dtype, node, 0);
        node.Outputs = [t];
        _inboundNodes.Add(node);
        IsBuilt = true;
        return t;
    }

    /// <summary>Creates a weight filled by its initializer (Keras fan-in/fan-out rules).</summary>
    protected Weight AddWeight(string shortName, long[] shape, ObjectSpec initializer, bool trainable = true,
        ObjectSpec? regularizer = null, ObjectSpec? constraint = null, (double In, double Out)? fans = null)
    {
        if (shape.Any(d => d <= 0))
            throw new ArgumentException($"weight '{shortName}' would have shape [{string.Join(",", shape)}]; every dim must be positive");
        // Checked now, filled on first read: reading a model config never allocates its weights.
        Initializers.Check(initializer, shape);
        // Seed 0 draws from the weight's path alone, so a model's initial weights follow from its layers' names;
        // another seed (Weight.SeedInitializer) salts the path.
        var path = Name + "/" + shortName;
        var w = new Weight(this, shortName, shape,
            seed => Initializers.Fill(initializer, shape, StableHash.Of(seed == 0 ? path : $"{path}#{seed}"), fans),
            trainable && Trainable, initializer, regularizer, constraint);
        _weights.Add(w);
        return w;
    }

    /// <summary>The graph value of <paramref name="w"/> (registered once per graph, also when the layer is shared).</summary>
    protected static Value Use(GraphBuilder g, Weight w) => WeightValue(g, w);

    public static Value WeightValue(GraphBuilder g, Weight w) =>
        g.AddInitializer(g.UniqueName(w.ShortName), DataType.Float, Shape.Of(w.Shape),
            () => Onnx.Tensors.Create(w.Path, w.Data, w.Shape), w);

    /// <summary>A distinct seed for each random op of this layer.</summary>
    protected float NextSeed(CallContext ctx) => (ctx.Seed * 7919 + StableHash.Of($"{Name}#{_seedCounter++}")) % 1_000_003;

    public override string ToString() => $"{ClassName} '{Name}'";
}

/// <summary>A layer with one input and one output.</summary>
public abstract class UnaryLayer : Layer
{
    protected UnaryLayer(LayerConfig config) : base(config) { }

    protected virtual void Build(TensorType input) { }
    protected abstract Value Call(GraphBuilder g, Value x, CallContext ctx);

    protected sealed override void Build(IReadOnlyList<TensorType> inputs)
    {
        if (inputs.Count != 1) throw new ArgumentException($"{ClassName} takes one input, got {inputs.Count}");
        Build(inputs[0]);
    }

    public sealed override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        if (inputs.Count != 1) throw new ShapeException($"{ClassName} takes one input, got {inputs.Count}");
        var y = Call(g, inputs[0], ctx);
        if (ctx.MaskOf(inputs[0]) is { } mask && PropagatesMask(inputs[0], y)) ctx.SetMask(y, mask);
        return [y];
    }

    /// <summary>Keras keeps a [batch, time] mask through layers that keep the time axis (Dense, Activation, Dropout…).</summary>
    protected virtual bool PropagatesMask(Value x, Value y) =>
        y.Rank >= 2 && x.Rank >= 2 && y.Shape[1] == x.Shape[1] && y.Rank == x.Rank;
}
