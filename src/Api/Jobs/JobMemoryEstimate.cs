using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Api.Jobs;

/// <summary>What a training job needs in memory before it runs, from the model's layer shapes alone (no weight is
/// allocated): parameters × (1 + optimizer slots + 1 gradient) × 4 bytes for trainable ones (× 1 for frozen ones and
/// state), plus activations: every layer output of the forward graph × batch size × 2 (forward values kept for the
/// backward pass and their gradients). A lower bound of what training really takes (the runtime keeps copies, the
/// dataset is in memory too), so a job refused by it could never have fit.</summary>
public sealed record JobMemoryEstimate(long Parameters, long TrainableParameters, int OptimizerSlots, double ParameterBytes, double ActivationBytes)
{
    public double TotalBytes => ParameterBytes + ActivationBytes;

    public static JobMemoryEstimate Of(Model model, OptimizerSpec optimizer, int batchSize)
    {
        var weights = model.Weights;
        long total = 0, trainable = 0;
        foreach (var w in weights)
        {
            total += w.Size;
            if (w.Trainable && w.Owner.Trainable) trainable += w.Size;
        }
        var slots = optimizer.Slots.Count;
        var parameterBytes = 4.0 * total + 4.0 * trainable * (slots + 1);
        double perSample = 0;
        foreach (var node in Nodes(model))
            foreach (var output in node.Outputs)
                perSample += ElementsPerSample(output) * BytesOf(output.DType);
        return new JobMemoryEstimate(total, trainable, slots, parameterBytes, 2.0 * perSample * batchSize);
    }

    /// <summary>One line for a 400: the figure, how it is made up, and the budget.</summary>
    public string Describe(long budget, string setting = "Jobs:MaxMemoryBytes") =>
        FormattableString.Invariant($"the job needs an estimated {TotalBytes:0} bytes ({Gib(TotalBytes)}): {Parameters} parameters ({TrainableParameters} trainable, ") +
        FormattableString.Invariant($"{OptimizerSlots} optimizer slot(s) and a gradient each) take {ParameterBytes:0} bytes and the activations of one batch {ActivationBytes:0} bytes; ") +
        FormattableString.Invariant($"that is more than the memory budget of a training job, {budget} bytes ({Gib(budget)}, {setting}). ") +
        "Use fewer or smaller layers or a smaller fit.batch_size";

    private static string Gib(double bytes) => FormattableString.Invariant($"{bytes / (1L << 30):0.##} GiB");

    private static IEnumerable<LayerNode> Nodes(Model model) => model switch
    {
        Functional f => f.Nodes.Concat(f.Inputs.Select(i => i.Node)).Distinct(),
        _ => model.Layers.SelectMany(l => l.InboundNodes.Take(1)),
    };

    /// <summary>Elements of one sample: every dimension after the batch one, an unknown one (a free sequence length) as 1.</summary>
    private static double ElementsPerSample(KerasTensor t) =>
        t.Shape.Dims.Skip(1).Aggregate(1.0, (p, d) => p * (d.Value is { } v && v > 0 ? v : 1));

    private static int BytesOf(DataType t) => t switch
    {
        DataType.Double or DataType.Int64 or DataType.Uint64 => 8,
        DataType.Float16 or DataType.Bfloat16 or DataType.Int16 or DataType.Uint16 => 2,
        DataType.Bool or DataType.Int8 or DataType.Uint8 => 1,
        _ => 4,
    };
}
