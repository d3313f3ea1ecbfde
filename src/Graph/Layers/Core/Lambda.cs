using System.Text.Json.Nodes;
using NeuralService.Graph.Core;

namespace NeuralService.Graph.Layers;

public sealed record LambdaConfig : LayerConfig
{
    /// <summary>Our safe replacement for Python code: an expression over x (or x[0], x[1]… for several inputs),
    /// see <see cref="LambdaExpression"/>.</summary>
    public string? Expression { get; init; }
    /// <summary>Keras's serialized Python function (bytecode or a name). Read only to reject it with a clear message.</summary>
    public JsonNode? Function { get; init; }
    public string? FunctionType { get; init; }
    public string? Module { get; init; }
    public JsonNode? OutputShape { get; init; }
    public string? OutputShapeType { get; init; }
    public string? OutputShapeModule { get; init; }
    public JsonNode? Arguments { get; init; }
    public JsonNode? Mask { get; init; }
}

/// <summary>y = f(x) for a safe expression f (e.g. <c>x * 2 + 1</c>, <c>relu(x) - tanh(x)</c>, <c>x[0] + x[1]</c>)
/// compiled to ONNX ops. Keras Lambda layers holding Python code are rejected: no Python is ever executed.</summary>
public sealed class Lambda : Layer
{
    public Lambda(LambdaConfig config) : base(config)
    {
        if (config.Expression is null)
        {
            if (config.Function is not null)
            {
                var kind = config.Function is JsonObject o && o["class_name"]?.GetValue<string>() is { } cls ? cls
                    : config.FunctionType ?? "python";
                throw new ArgumentException(
                    $"Lambda layer '{Name}' holds a serialized Python function ({kind}). Python code is never executed here, so it cannot be " +
                    "imported. Replace 'function' in the layer config by \"expression\": a formula over the input such as \"x * 2 + 1\", " +
                    $"\"relu(x) - tanh(x)\", \"mean(x, 1)\", or \"x[0] + x[1]\" for several inputs (functions: {LambdaExpression.FunctionList}).");
            }
            throw new ArgumentException($"Lambda layer '{Name}' needs an expression, e.g. \"x * 2 + 1\"");
        }
        if (config.Arguments is JsonObject { Count: > 0 })
            throw new ArgumentException($"Lambda layer '{Name}': 'arguments' are Python keyword arguments and are not supported; write constants into the expression");
        Parsed = LambdaExpression.Parse(config.Expression);
        Config = config;
    }

    public Lambda(string expression, string? name = null) : this(new LambdaConfig { Expression = expression, Name = name }) { }

    public override LambdaConfig Config { get; }
    public LambdaExpression Parsed { get; }

    protected override void Build(IReadOnlyList<TensorType> inputs)
    {
        if (inputs.Count == 0) throw new ArgumentException("Lambda needs at least one input");
    }

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        var y = Parsed.Emit(g, inputs);
        // A bare reference to an input still needs a node of this layer so the output has its own name.
        if (inputs.Any(i => i.Name == y.Name) || g.IsInitializer(y.Name)) y = g.Node1("Identity", [y]);
        return [y];
    }
}
