using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Arguments of BatchNormalization: Keras 3's keys, plus Keras 2's optional renorm/virtual batch keys.</summary>
public sealed record BatchNormalizationConfig : LayerConfig
{
    /// <summary>The feature axis; Keras 2 may write a one-element list.</summary>
    [JsonConverter(typeof(IntOrListConverter))]
    public int[] Axis { get; init; } = [-1];
    public double Momentum { get; init; } = 0.99;
    public double Epsilon { get; init; } = 1e-3;
    public bool Center { get; init; } = true;
    public bool Scale { get; init; } = true;
    public ObjectSpec BetaInitializer { get; init; } = Specs.Zeros;
    public ObjectSpec GammaInitializer { get; init; } = Specs.Ones;
    public ObjectSpec MovingMeanInitializer { get; init; } = Specs.Zeros;
    public ObjectSpec MovingVarianceInitializer { get; init; } = Specs.Ones;
    public ObjectSpec? BetaRegularizer { get; init; }
    public ObjectSpec? GammaRegularizer { get; init; }
    public ObjectSpec? BetaConstraint { get; init; }
    public ObjectSpec? GammaConstraint { get; init; }
    public bool Synchronized { get; init; }
    public bool Renorm { get; init; }
    public JsonNode? RenormClipping { get; init; }
    public double RenormMomentum { get; init; } = 0.99;
    /// <summary>Keras 2 only.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? VirtualBatchSize { get; init; }
    /// <summary>Keras 2 only (a Python callable; must be null).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonNode? Adjustment { get; init; }
    /// <summary>Keras 2 only; an implementation detail with no effect on the result.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? Fused { get; init; }
}

/// <summary>y = γ·(x − μ)/√(σ² + ε) + β per feature of <c>axis</c>. Inference uses the moving statistics; training
/// (and a trainable layer) uses the batch mean and biased variance over the other axes and updates the moving
/// statistics as m ← momentum·m + (1 − momentum)·batch_stat (Keras 3), exported as state updates.</summary>
public sealed class BatchNormalization : UnaryLayer
{
    private Weight? _gamma;
    private Weight? _beta;
    private Weight? _movingMean;
    private Weight? _movingVariance;
    private int _axis;

    public BatchNormalization(BatchNormalizationConfig config) : base(config)
    {
        if (config.Axis.Length != 1) throw new ArgumentException($"BatchNormalization supports a single axis, got [{string.Join(", ", config.Axis)}]");
        if (config.Epsilon <= 0) throw new ArgumentException($"BatchNormalization epsilon must be positive, got {config.Epsilon}");
        if (config.Momentum is < 0 or > 1) throw new ArgumentException($"BatchNormalization momentum must be in [0, 1], got {config.Momentum}");
        if (config.Renorm) throw new ArgumentException("BatchNormalization renorm=True is not supported");
        if (config.VirtualBatchSize is not null) throw new ArgumentException($"BatchNormalization virtual_batch_size={config.VirtualBatchSize} is not supported");
        if (config.Adjustment is not null) throw new ArgumentException("BatchNormalization adjustment is not supported");
        Config = config;
    }

    public BatchNormalization(int axis = -1, double momentum = 0.99, double epsilon = 1e-3, bool center = true, bool scale = true, string? name = null)
        : this(new BatchNormalizationConfig { Axis = [axis], Momentum = momentum, Epsilon = epsilon, Center = center, Scale = scale, Name = name }) { }

    public override BatchNormalizationConfig Config { get; }
    public Weight? Gamma => _gamma;
    public Weight? Beta => _beta;
    public Weight MovingMean => _movingMean ?? throw new InvalidOperationException($"layer '{Name}' is not built");
    public Weight MovingVariance => _movingVariance ?? throw new InvalidOperationException($"layer '{Name}' is not built");

    protected override void Build(TensorType input)
    {
        var rank = input.Shape.Rank;
        var axis = Config.Axis[0];
        if (axis < -rank || axis >= rank || rank < 2) throw new ArgumentException($"axis {axis} is out of range for input {input.Shape}");
        _axis = axis < 0 ? axis + rank : axis;
        if (_axis == 0) throw new ArgumentException($"axis {axis} is the batch axis of {input.Shape}");
        var c = input.Shape[_axis];
        if (!c.IsKnown) throw new ArgumentException($"the dim of axis {axis} must be known, got {input.Shape}");
        long[] shape = [c.Known];
        if (Config.Scale) _gamma = AddWeight("gamma", shape, Config.GammaInitializer, regularizer: Config.GammaRegularizer, constraint: Config.GammaConstraint);
        if (Config.Center) _beta = AddWeight("beta", shape, Config.BetaInitializer, regularizer: Config.BetaRegularizer, constraint: Config.BetaConstraint);
        _movingMean = AddWeight("moving_mean", shape, Config.MovingMeanInitializer, trainable: false);
        _movingVariance = AddWeight("moving_variance", shape, Config.MovingVarianceInitializer, trainable: false);
    }

    protected override Value Call(GraphBuilder g, Value x, CallContext ctx)
    {
        var rank = x.Rank;
        var c = x.Shape[_axis].Known;
        // Per-feature vectors broadcast against x as [C, 1, …] (trailing ones after the axis).
        long[] paramShape = [c, .. Enumerable.Repeat(1L, rank - 1 - _axis)];
        Value Broadcastable(Value v) => rank - 1 - _axis == 0 ? v : g.Node1("Reshape", [v, g.Ints("param_shape", paramShape)]);
        var eps = g.Scalar(Config.Epsilon, x.DType, "epsilon");

        Value centered, variance;
        if (ctx.Training && Trainable)
        {
            var reduce = Enumerable.Range(0, rank).Where(a => a != _axis).Select(a => (long)a).ToArray();
            var mean = g.Node1("ReduceMean", [x], [Attr.Ints("axes", reduce), Attr.Int("keepdims", 1)], name: "BatchMean");
            centered = g.Node1("Sub", [x, mean]);
            variance = g.Node1("ReduceMean", [g.Node1("Mul", [centered, centered])], [Attr.Ints("axes", reduce), Attr.Int("keepdims", 1)], name: "BatchVariance");
            var momentum = g.Scalar(Config.Momentum, x.DType, "momentum");
            var rest = g.Scalar(1 - Config.Momentum, x.DType, "one_minus_momentum");
            var flat = g.Ints("stat_shape", c);
            Value Update(Weight w, Value batchStat) =>
                g.Node1("Add", [g.Node1("Mul", [Use(g, w), momentum]), g.Node1("Mul", [g.Node1("Reshape", [batchStat, flat]), rest])],
                    name: w.ShortName + "_update");
            ctx.StateUpdates.Add(new StateUpdate(MovingMean, Update(MovingMean, mean)));
            ctx.StateUpdates.Add(new StateUpdate(MovingVariance, Update(MovingVariance, variance)));
        }
        else
        {
            centered = g.Node1("Sub", [x, Broadcastable(Use(g, MovingMean))]);
            variance = Broadcastable(Use(g, MovingVariance));
        }
        var y = g.Node1("Div", [centered, g.Node1("Sqrt", [g.Node1("Add", [variance, eps])])], name: "Normalize");
        if (_gamma is not null) y = g.Node1("Mul", [y, Broadcastable(Use(g, _gamma))], name: "Scale");
        if (_beta is not null) y = g.Node1("Add", [y, Broadcastable(Use(g, _beta))], name: "Center");
        return y;
    }
}
