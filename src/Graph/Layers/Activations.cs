using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;

namespace NeuralService.Graph.Layers;

/// <summary>Keras's activation functions as ONNX ops.</summary>
public static class Activations
{
    public static readonly IReadOnlySet<string> Names = new HashSet<string>
    {
        "linear", "relu", "sigmoid", "tanh", "softmax", "log_softmax", "gelu", "elu", "selu", "leaky_relu", "softplus",
        "softsign", "swish", "silu", "hard_sigmoid", "hard_silu", "hard_swish", "exponential", "relu6", "mish",
    };

    /// <summary>Validates an activation name, quoting it in the error.</summary>
    public static string Check(string? name)
    {
        var n = Normalize(name);
        return Names.Contains(n) ? n : throw new ArgumentException($"unknown activation '{name}'");
    }

    /// <summary>True for activations applied to each element alone (all but the softmax family).</summary>
    public static bool IsElementwise(string? name) => Normalize(name) is not ("softmax" or "log_softmax");

    public static string Normalize(string? name) => (name ?? "linear") switch
    {
        "" or "None" or "none" => "linear",
        var s => s.ToLowerInvariant(),
    };

    /// <summary>Applies activation <paramref name="name"/>; softmax-like ones act on <paramref name="axis"/>.</summary>
    public static Value Apply(GraphBuilder g, Value x, string? name, int axis = -1)
    {
        var dt = x.DType;
        switch (Normalize(name))
        {
            case "linear": return x;
            case "relu": return g.Node1("Relu", [x]);
            case "sigmoid": return g.Node1("Sigmoid", [x]);
            case "tanh": return g.Node1("Tanh", [x]);
            case "softmax": return g.Node1("Softmax", [x], [Attr.Int("axis", axis)]);
            case "log_softmax": return g.Node1("LogSoftmax", [x], [Attr.Int("axis", axis)]);
            case "elu": return g.Node1("Elu", [x], [Attr.Float("alpha", 1f)]);
            case "selu": return g.Node1("Selu", [x]);
            case "leaky_relu": return g.Node1("LeakyRelu", [x], [Attr.Float("alpha", 0.2f)]);
            case "softplus": return g.Node1("Softplus", [x]);
            case "softsign": return g.Node1("Softsign", [x]);
            case "exponential": return g.Node1("Exp", [x]);
            case "hard_sigmoid": return g.Node1("HardSigmoid", [x], [Attr.Float("alpha", 1f / 6), Attr.Float("beta", 0.5f)]);
            case "hard_silu" or "hard_swish": return g.Node1("HardSwish", [x]);
            case "relu6": return g.Node1("Clip", [x, g.Scalar(0, dt), g.Scalar(6, dt)]);
            case "swish" or "silu": return g.Node1("Mul", [x, g.Node1("Sigmoid", [x])], name: "Swish");
            case "mish": return g.Node1("Mul", [x, g.Node1("Tanh", [g.Node1("Softplus", [x])])], name: "Mish");
            case "gelu":
                // Exact GELU (Keras's default approximate=False): x·½·(1 + erf(x/√2)); opset 17 has no Gelu op.
                var erf = g.Node1("Erf", [g.Node1("Mul", [x, g.Scalar(1 / Math.Sqrt(2), dt)])]);
                var half = g.Node1("Mul", [g.Node1("Add", [erf, g.Scalar(1, dt)]), g.Scalar(0.5, dt)]);
                return g.Node1("Mul", [x, half], name: "Gelu");
            case var other: throw new ShapeException($"unknown activation '{other}'");
        }
    }
}
