using NeuralService.Graph.Core;

namespace NeuralService.Graph.Layers;

/// <summary>Config of the merge layers without arguments (Add, Subtract, Multiply, Average, Maximum, Minimum).</summary>
public sealed record MergeConfig : LayerConfig;

/// <summary>A layer combining a list of same-shaped (or broadcastable) tensors elementwise.</summary>
public abstract class Merge : Layer
{
    protected Merge(LayerConfig config) : base(config) { }

    protected virtual int MinInputs => 1;
    protected virtual int? ExactInputs => null;

    protected abstract Value Combine(GraphBuilder g, IReadOnlyList<Value> inputs);

    protected override void Build(IReadOnlyList<TensorType> inputs) => CheckCount(inputs.Count, m => new ArgumentException(m));

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        CheckCount(inputs.Count, m => new ShapeException(m));
        var y = inputs.Count == 1 ? g.Node1("Identity", [inputs[0]]) : Combine(g, inputs);
        var masks = inputs.Select(ctx.MaskOf).OfType<Value>().ToList();
        if (masks.Count > 0 && MergesMasks(inputs, y))
            ctx.SetMask(y, masks.Count == 1 ? masks[0] : masks.Skip(1).Aggregate(masks[0], (acc, m) => g.Node1("And", [acc, m], name: "mask")));
        return [y];
    }

    /// <summary>Keras ANDs the [batch, time] masks of the inputs when the output keeps the time axis.</summary>
    protected virtual bool MergesMasks(IReadOnlyList<Value> inputs, Value y) =>
        y.Rank >= 2 && inputs.All(i => i.Rank == y.Rank && i.Shape[1] == y.Shape[1]);

    private void CheckCount(int n, Func<string, Exception> error)
    {
        if (ExactInputs is { } e && n != e) throw error($"{ClassName} takes exactly {e} inputs, got {n}");
        if (n < MinInputs) throw error($"{ClassName} needs at least {MinInputs} inputs, got {n}");
    }

    /// <summary>Left fold with a binary op: ((x0 ∘ x1) ∘ x2)….</summary>
    protected static Value Fold(GraphBuilder g, string op, IReadOnlyList<Value> inputs) =>
        inputs.Skip(1).Aggregate(inputs[0], (acc, x) => g.Node1(op, [acc, x]));
}

/// <summary>y = Σ xᵢ.</summary>
public sealed class Add(MergeConfig config) : Merge(config)
{
    public Add(string? name = null) : this(new MergeConfig { Name = name }) { }
    public override MergeConfig Config { get; } = config;
    protected override Value Combine(GraphBuilder g, IReadOnlyList<Value> inputs) => Fold(g, "Add", inputs);
}

/// <summary>y = x0 − x1.</summary>
public sealed class Subtract(MergeConfig config) : Merge(config)
{
    public Subtract(string? name = null) : this(new MergeConfig { Name = name }) { }
    public override MergeConfig Config { get; } = config;
    protected override int? ExactInputs => 2;
    protected override Value Combine(GraphBuilder g, IReadOnlyList<Value> inputs) => g.Node1("Sub", [inputs[0], inputs[1]]);
}

/// <summary>y = Π xᵢ (elementwise).</summary>
public sealed class Multiply(MergeConfig config) : Merge(config)
{
    public Multiply(string? name = null) : this(new MergeConfig { Name = name }) { }
    public override MergeConfig Config { get; } = config;
    protected override Value Combine(GraphBuilder g, IReadOnlyList<Value> inputs) => Fold(g, "Mul", inputs);
}

/// <summary>y = (Σ xᵢ) / n.</summary>
public sealed class Average(MergeConfig config) : Merge(config)
{
    public Average(string? name = null) : this(new MergeConfig { Name = name }) { }
    public override MergeConfig Config { get; } = config;
    protected override Value Combine(GraphBuilder g, IReadOnlyList<Value> inputs) => g.Node1("Mean", inputs);
}

/// <summary>y = max(x0, x1, …) elementwise.</summary>
public sealed class Maximum(MergeConfig config) : Merge(config)
{
    public Maximum(string? name = null) : this(new MergeConfig { Name = name }) { }
    public override MergeConfig Config { get; } = config;
    protected override Value Combine(GraphBuilder g, IReadOnlyList<Value> inputs) => g.Node1("Max", inputs);
}

/// <summary>y = min(x0, x1, …) elementwise.</summary>
public sealed class Minimum(MergeConfig config) : Merge(config)
{
    public Minimum(string? name = null) : this(new MergeConfig { Name = name }) { }
    public override MergeConfig Config { get; } = config;
    protected override Value Combine(GraphBuilder g, IReadOnlyList<Value> inputs) => g.Node1("Min", inputs);
}
