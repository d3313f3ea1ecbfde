using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using Onnx;

namespace NeuralService.Graph.Tests.Layers.Recurrent;

/// <summary>Builds one-layer models, exports them for inference and for training, checks and runs both.</summary>
internal static class RecurrentHarness
{
    public sealed record Exported(ModelProto Inference, ModelProto Training,
        IReadOnlyList<(float[] Data, int[] Dims)> InferenceOutputs, IReadOnlyList<(float[] Data, int[] Dims)> TrainingOutputs);

    public static Functional Model(Layer layer, int? time, int features, bool masked = false)
    {
        var input = Input.Of([time, features]);
        var x = masked ? new ZeroMask().Apply(input) : input;
        return new Functional([input], layer.ApplyMulti([x]));
    }

    /// <summary>Replaces every weight by random values, so that biases and every gate block matter.</summary>
    public static void Randomize(Model model, int seed)
    {
        foreach (var w in model.Weights) w.Assign(Reference.Random((int)w.Size, seed++, 0.6f));
    }

    public static Exported Run(Model model, float[] x, int[] dims)
    {
        var inference = model.ToOnnx();
        var training = model.ToOnnx(new ExportOptions { Training = true });
        OnnxChecker.Check(inference, training);
        return new Exported(inference, training, Outputs(inference, x, dims), Outputs(training, x, dims));
    }

    private static List<(float[] Data, int[] Dims)> Outputs(ModelProto m, float[] x, int[] dims)
    {
        var results = Ort.Run(m, (m.Graph.Input[0].Name, x, dims));
        return m.Graph.Output.Select(o => results[o.Name]).ToList();
    }

    /// <summary>Whether any node of the model, subgraph bodies included, is <paramref name="opType"/>.</summary>
    public static bool Uses(ModelProto m, string opType) => AllNodes(m.Graph).Any(n => n.OpType == opType);

    /// <summary>The nodes of <paramref name="g"/> and of every subgraph (Scan bodies) in it.</summary>
    public static IEnumerable<NodeProto> AllNodes(GraphProto g) =>
        g.Node.SelectMany(n => new[] { n }.Concat(n.Attribute.Where(a => a.G is not null).SelectMany(a => AllNodes(a.G))));

    /// <summary>Asserts that both exports give <paramref name="expected"/> (data and dims) and agree with each other.</summary>
    public static void AssertOutputs(Exported e, IReadOnlyList<(float[] Data, int[] Dims)> expected)
    {
        Assert.Equal(expected.Count, e.InferenceOutputs.Count);
        Assert.Equal(expected.Count, e.TrainingOutputs.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Dims, e.InferenceOutputs[i].Dims);
            Assert.Equal(expected[i].Dims, e.TrainingOutputs[i].Dims);
            Reference.AssertClose(expected[i].Data, e.InferenceOutputs[i].Data, what: $"inference output {i}");
            Reference.AssertClose(expected[i].Data, e.TrainingOutputs[i].Data, what: $"training output {i}");
            Reference.AssertClose(e.InferenceOutputs[i].Data, e.TrainingOutputs[i].Data, what: $"fused vs unrolled output {i}");
        }
    }

    /// <summary>The expected outputs of a recurrent layer from the reference cell.</summary>
    public static List<(float[] Data, int[] Dims)> Expected(RecurrentLayer layer, RecurrentReference.Result r, int batch, int time)
    {
        var units = layer.Units;
        var list = new List<(float[], int[])>
        {
            layer.ReturnSequences ? (r.Sequence, [batch, time, units]) : (r.H, [batch, units]),
        };
        if (layer.ReturnState)
        {
            list.Add((r.H, [batch, units]));
            if (r.C is not null) list.Add((r.C, [batch, units]));
        }
        return list;
    }

    /// <summary>The reference run for a built recurrent layer with its own weights.</summary>
    public static RecurrentReference.Result Cell(RecurrentLayer layer, float[] x, int batch, int time, int features,
        bool[]? mask = null, bool zeroOutputForMask = false)
    {
        var (activation, recurrent, resetAfter) = layer switch
        {
            LSTM l => (l.Config.Activation!, l.Config.RecurrentActivation!, true),
            GRU gru => (gru.Config.Activation!, gru.Config.RecurrentActivation!, gru.Config.ResetAfter),
            SimpleRNN s => (s.Config.Activation!, "sigmoid", true),
            _ => throw new ArgumentException(layer.ClassName),
        };
        var w = layer.Weights;
        return RecurrentReference.Run(layer.ClassName, x, batch, time, features, layer.Units, w[0].Data, w[1].Data,
            w.Count > 2 ? w[2].Data : null, activation, recurrent, resetAfter, layer.GoBackwards, mask, zeroOutputForMask);
    }
}

public sealed record ZeroMaskConfig : LayerConfig;

/// <summary>Test layer: passes x through and attaches Keras's Masking mask, mask[b, t] = any(x[b, t, :] ≠ 0).</summary>
internal sealed class ZeroMask() : Layer(new ZeroMaskConfig())
{
    public override LayerConfig Config { get; } = new ZeroMaskConfig();

    public override IReadOnlyList<Value> Call(GraphBuilder g, IReadOnlyList<Value> inputs, CallContext ctx)
    {
        var x = inputs[0];
        var y = g.Node1("Identity", [x]);
        var peak = g.Node1("ReduceMax", [g.Node1("Abs", [x])], [Attr.Ints("axes", [2L]), Attr.Int("keepdims", 0)]);
        ctx.SetMask(y, g.Node1("Greater", [peak, g.Scalar(0, x.DType)]));
        return [y];
    }
}
