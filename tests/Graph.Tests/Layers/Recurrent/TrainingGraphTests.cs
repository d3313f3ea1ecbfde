using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;

namespace NeuralService.Graph.Tests.Layers.Recurrent;

/// <summary>The training form must be made of ops the autodiff differentiates (Scan bodies included).</summary>
public sealed class TrainingGraphTests
{
    private static readonly HashSet<string> Differentiable =
    [
        "MatMul", "Add", "Mul", "Sub", "Sigmoid", "Tanh", "Relu", "Slice", "Split", "Concat", "Gather", "Squeeze", "Unsqueeze",
        "Transpose", "Reshape", "Identity", "Where",
        // the Scan, and the zero initial state of a batch size known at run time
        "Scan", "Shape", "ConstantOfShape",
    ];

    public static TheoryData<string> Layers => ["SimpleRNN", "LSTM", "GRU", "GRU-reset-before", "Bidirectional", "TimeDistributed"];

    [Theory]
    [MemberData(nameof(Layers))]
    public void UsesOnlyDifferentiableOps(string kind)
    {
        Layer layer = kind switch
        {
            "SimpleRNN" => new SimpleRNN(3, "relu", returnSequences: true, goBackwards: true),
            "LSTM" => new LSTM(3, returnSequences: true, returnState: true),
            "GRU" => new GRU(3, returnSequences: true),
            "GRU-reset-before" => new GRU(3, resetAfter: false),
            "Bidirectional" => new Bidirectional(new LSTM(3, returnSequences: true), "ave"),
            _ => new TimeDistributed(new Dense(3, "tanh")),
        };
        var model = RecurrentHarness.Model(layer, 3, 2);
        var ops = RecurrentHarness.AllNodes(model.ToOnnx(new ExportOptions { Training = true }).Graph).Select(n => n.OpType).ToHashSet();
        Assert.Subset(Differentiable, ops);
    }
}
