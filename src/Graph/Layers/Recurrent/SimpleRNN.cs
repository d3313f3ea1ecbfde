using NeuralService.Graph.Core;

namespace NeuralService.Graph.Layers;

/// <summary>Keras SimpleRNN: h_t = activation(x_t·W + h_{t−1}·U + b); W [in, units], U [units, units], b [units].
/// Fused form: ONNX RNN (H_t = f(X_t·Wᵀ + H_{t−1}·Rᵀ + Wb + Rb)) with W = Keras Wᵀ and Rb = 0.</summary>
public sealed class SimpleRNN : RecurrentLayer
{
    public SimpleRNN(SimpleRNNConfig config) : base(config) => Config = config;

    public SimpleRNN(int units, string activation = "tanh", bool returnSequences = false, bool returnState = false,
        bool goBackwards = false, string? name = null)
        : this(new SimpleRNNConfig
        {
            Units = units, Activation = activation, ReturnSequences = returnSequences, ReturnState = returnState,
            GoBackwards = goBackwards, Name = name,
        }) { }

    public override SimpleRNNConfig Config { get; }
    protected override int Gates => 1;
    protected override string FusedOpType => "RNN";
    protected override long[] BiasShape => [Units];

    protected override string[]? FusedActivations() => OnnxActivation(Config.Activation) is { } a ? [a] : null;

    protected override Value[] Step(GraphBuilder g, Value xt, Value? h, Value? hRec, Value? c, object? prepared)
    {
        var z = hRec is null ? xt : g.Node1("Add", [xt, g.Node1("MatMul", [hRec, Use(g, RecurrentKernel)])]);
        return [Act(g, z, Config.Activation)];
    }
}
