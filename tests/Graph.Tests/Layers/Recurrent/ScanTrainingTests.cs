using NeuralService.Graph.Autodiff;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;

namespace NeuralService.Graph.Tests.Layers.Recurrent;

/// <summary>Recurrent layers in training run as one Scan: gradients against finite differences (GradCheck evaluates the
/// exported training form in float64, subgraphs included), and a training graph whose size does not depend on the length.</summary>
public sealed class ScanTrainingTests
{
    private const int Batch = 2, Features = 3;

    public static TheoryData<string> Cases =>
    [
        "SimpleRNN", "LSTM sequences+state", "LSTM go_backwards", "GRU reset_after", "GRU reset_before sequences",
        "LSTM masked zero_output", "GRU masked go_backwards", "LSTM initial_state", "Bidirectional LSTM concat",
    ];

    private static (Model Model, float[][] Inputs, int[][] Dims) Build(string kind, int time)
    {
        var x = Reference.Random(Batch * time * Features, 3, 1f);
        var masked = kind.Contains("masked", StringComparison.Ordinal);
        if (masked)
            // Sample 0 right-padded after 2 steps, sample 1 with a hole at step 1: both hold their state.
            for (var b = 0; b < Batch; b++)
                for (var t = 0; t < time; t++)
                    if (b == 0 ? t >= 2 : t == 1)
                        for (var f = 0; f < Features; f++) x[(b * time + t) * Features + f] = 0;
        Layer layer = kind switch
        {
            "SimpleRNN" => new SimpleRNN(4, returnSequences: true),
            "LSTM sequences+state" => new LSTM(4, returnSequences: true, returnState: true),
            "LSTM go_backwards" => new LSTM(4, goBackwards: true, returnSequences: true),
            "GRU reset_after" => new GRU(4, returnState: true),
            "GRU reset_before sequences" => new GRU(4, returnSequences: true, resetAfter: false),
            "LSTM masked zero_output" => new LSTM(new LSTMConfig { Units = 4, ReturnSequences = true, ZeroOutputForMask = true }),
            "GRU masked go_backwards" => new GRU(4, returnSequences: true, goBackwards: true),
            "LSTM initial_state" => new LSTM(4, returnState: true),
            "Bidirectional LSTM concat" => new Bidirectional(new LSTM(3, returnSequences: true)),
            _ => throw new ArgumentException(kind),
        };
        Model model;
        if (kind == "LSTM initial_state")
        {
            var input = Input.Of([null, Features]);
            var h0 = Input.Of(4);
            var c0 = Input.Of(4);
            model = new Functional([input, h0, c0], layer.ApplyMulti([input, h0, c0]));
            RecurrentHarness.Randomize(model, 5);
            return (model, [x, Reference.Random(Batch * 4, 6), Reference.Random(Batch * 4, 7)], [[Batch, time, Features], [Batch, 4], [Batch, 4]]);
        }
        model = RecurrentHarness.Model(layer, null, Features, masked);
        RecurrentHarness.Randomize(model, 5);
        return (model, [x], [[Batch, time, Features]]);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GradientsMatchFiniteDifferences(string kind)
    {
        var (model, inputs, dims) = Build(kind, 5);
        var training = model.ToOnnx(new ExportOptions { Training = true });
        Assert.True(RecurrentHarness.Uses(training, "Scan"));
        var feeds = training.Graph.Input.Select((input, i) => (input.Name, Tensor: Tensors.Create(input.Name,
            inputs[i], dims[i].Select(d => (long)d).ToArray()))).ToDictionary(p => p.Name, p => p.Tensor);
        // A Keras mask comes from x ≠ 0: moving a padded x by ±h would unmask it, so masked inputs and the mask's
        // comparison constant are not differentiable there.
        var masked = kind.Contains("masked", StringComparison.Ordinal);
        var parameters = training.Graph.Initializer.Select(t => t.Name).Where(n => !n.StartsWith("zero_mask", StringComparison.Ordinal)).ToList();
        var result = GradCheck.Run(training, feeds, new GradCheckOptions { MaxElementsPerTensor = 16, Wrt = masked ? GradCheckWrt.Parameters : GradCheckWrt.All, Parameters = parameters });
        Assert.True(result.Passed, result.ToString());
        Assert.Contains(result.Parameters, p => p.Name.Contains("recurrent_kernel", StringComparison.Ordinal));
        OnnxChecker.Check(training, result.GradientModel);
    }

    [Theory]
    [InlineData("LSTM sequences+state")]
    [InlineData("Bidirectional LSTM concat")]
    [InlineData("GRU masked go_backwards")]
    public void TrainStepGraphSizeDoesNotDependOnTheLength(string kind)
    {
        int Nodes(int? time)
        {
            var (model, _, _) = Build(kind, 4);
            if (time is { } t)
            {
                // The same layer stack over a fixed length.
                var layer = model.Layers.OfType<Layer>().Last(l => l is RecurrentLayer or Bidirectional);
                var input = Input.Of([t, Features]);
                var x = kind.Contains("masked", StringComparison.Ordinal) ? new ZeroMask().Apply(input) : input;
                model = new Functional([input], layer.ApplyMulti([x]));
            }
            var compiled = TrainingGraph.Compile(model, Enumerable.Repeat<LossSpec>("mse", model.OutputNames.Count).ToList(), new Adam());
            OnnxChecker.Check(compiled.Model);
            return RecurrentHarness.AllNodes(compiled.Model.Graph).Count();
        }
        var fixedLength = Nodes(5);
        Assert.Equal(fixedLength, Nodes(60));
        // The open length adds only the loss gradient's run-time broadcast checks on the unknown time dim (a mean
        // over [batch, time, units] with a dim unknown on both sides), not anything per step.
        var open = Nodes(null);
        Assert.InRange(open, fixedLength, fixedLength + 12);
    }
}
