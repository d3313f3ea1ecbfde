using NeuralService.Graph.Core;

namespace NeuralService.Graph.Training;

/// <summary>A per-parameter state tensor of an optimizer (shape of its parameter), filled with <paramref name="Initial"/> at the start.</summary>
public sealed record StateSlot(string Name, double Initial = 0);

/// <summary>A scalar optimizer state shared by all parameters (Nadam's running product of momentum factors).</summary>
public sealed record GlobalSlot(string Name, double Initial);

/// <summary>What one optimizer update sees besides its own parameter: the runtime learning rate and Keras's
/// <c>iterations</c> (steps already applied) as float scalars, and the already-updated global slots.</summary>
public sealed class UpdateContext
{
    internal UpdateContext(GraphBuilder g, Value learningRate, Value iterations)
    {
        G = g;
        LearningRate = learningRate;
        Iterations = iterations;
        LocalStep = g.Add(iterations, g.F(1, "one"));
    }

    public GraphBuilder G { get; }
    public Value LearningRate { get; }
    /// <summary>Keras's <c>optimizer.iterations</c> before this step (0 on the first step).</summary>
    public Value Iterations { get; }
    /// <summary>iterations + 1, the exponent of Adam-style bias corrections.</summary>
    public Value LocalStep { get; }
    public IReadOnlyList<Value> Globals { get; internal set; } = [];

    private readonly Dictionary<string, Value> _memo = new(StringComparer.Ordinal);

    /// <summary>c^LocalStep for a constant c (emitted once per step, shared by all parameters).</summary>
    public Value PowerOf(double c) => Shared($"pow:{c:R}", () => G.Pow(C(c), LocalStep));

    /// <summary>A float constant, one initializer per distinct value.</summary>
    public Value C(double value) => Shared($"const:{value:R}", () => G.F(value));

    /// <summary>A scalar that depends only on the step and hyper-parameters, built once and reused by every
    /// parameter's update: each node costs a kernel launch per step.</summary>
    public Value Shared(string key, Func<Value> build)
    {
        if (!_memo.TryGetValue(key, out var v)) _memo[key] = v = build();
        return v;
    }
}

/// <summary>A Keras 3 optimizer: its hyper-parameters (Keras names and defaults) and its update as ONNX ops. The
/// learning rate and the iteration count are graph inputs, so schedules need no rebuild; <see cref="LearningRate"/>
/// is the value to feed when no schedule is used. Gradient clipping and decoupled weight decay are Keras's base
/// optimizer options and apply to every optimizer.</summary>
public abstract record OptimizerSpec
{
    private readonly double _learningRate = 0.001;

    public double LearningRate
    {
        get => _learningRate;
        init => _learningRate = value > 0 ? value : throw new ArgumentException($"learning_rate must be positive, got {value}");
    }

    /// <summary>Decoupled weight decay: p ← p − p·wd·lr before the update (Keras's <c>weight_decay</c>).</summary>
    public double? WeightDecay { get; init; }
    /// <summary>Each gradient is rescaled to at most this L2 norm: g·c / max(‖g‖, c).</summary>
    public double? ClipNorm { get; init; }
    /// <summary>Each gradient element is clipped to [−c, c].</summary>
    public double? ClipValue { get; init; }
    /// <summary>All gradients together are rescaled to at most this global L2 norm: g·c·min(1/‖G‖, 1/c).</summary>
    public double? GlobalClipNorm { get; init; }

    /// <summary>Keras's class name (<c>Adam</c>).</summary>
    public abstract string Name { get; }
    public abstract IReadOnlyList<StateSlot> Slots { get; }
    public virtual IReadOnlyList<GlobalSlot> GlobalSlots => [];

    /// <summary>New values of the global slots, computed once per step before any parameter's update.</summary>
    protected internal virtual IReadOnlyList<Value> UpdateGlobals(UpdateContext s, IReadOnlyList<Value> globals) => globals;

    /// <summary>The new parameter and the new values of <see cref="Slots"/> (in order) for one parameter.</summary>
    protected internal abstract (Value Param, IReadOnlyList<Value> Slots) Update(UpdateContext s, Value param, Value grad, IReadOnlyList<Value> slots);

    internal void Validate()
    {
        var clips = new[] { ClipNorm, ClipValue, GlobalClipNorm }.Count(c => c is not null);
        if (clips > 1)
            throw new ArgumentException($"{Name}: only one of clipnorm ({ClipNorm}), clipvalue ({ClipValue}) and global_clipnorm ({GlobalClipNorm}) can be set");
        foreach (var (name, v) in new[] { ("clipnorm", ClipNorm), ("clipvalue", ClipValue), ("global_clipnorm", GlobalClipNorm) })
            if (v is <= 0) throw new ArgumentException($"{Name}: {name} must be positive, got {v}");
        if (WeightDecay is < 0) throw new ArgumentException($"{Name}: weight_decay must be non-negative, got {WeightDecay}");
    }

    protected static double Check(double value, double lo, double hi, string name) =>
        value >= lo && value <= hi ? value : throw new ArgumentException($"{name} must be in [{lo}, {hi}], got {value}");
}
