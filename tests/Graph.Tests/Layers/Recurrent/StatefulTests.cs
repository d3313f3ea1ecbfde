using NeuralService.Graph.Keras;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;

namespace NeuralService.Graph.Tests.Layers.Recurrent;

/// <summary>stateful=True: fixed batch, the final state of one call is the initial state of the next. Exported as
/// extra inputs with a zeros default and extra outputs; carried by the train step as state.</summary>
public sealed class StatefulTests
{
    private const int Batch = 2, Time = 3, Features = 2, Units = 4;

    private const string KerasJson = """
        {"class_name": "Sequential", "config": {"name": "seq", "layers": [
          {"class_name": "LSTM", "config": {"name": "lstm", "units": 4, "stateful": true, "return_sequences": false,
            "batch_input_shape": [2, 3, 2], "dtype": "float32"}},
          {"class_name": "Dense", "config": {"name": "dense", "units": 1}}]},
         "keras_version": "2.2.4", "backend": "tensorflow"}
        """;

    [Fact]
    public void ImportsWithKerasParameterCount()
    {
        var model = KerasModelJson.Read(KerasJson);
        // Keras counts the kernels only: the carried state is not a weight.
        Assert.Equal(4 * Units * (Features + Units + 1) + Units + 1, model.CountParams());
        var lstm = (LSTM)model.GetLayer("lstm");
        Assert.True(lstm.Config.Stateful);
        Assert.Equal(2, lstm.CarriedStates.Count);
        Assert.DoesNotContain(model.Weights, w => lstm.CarriedStates.Contains(w));
        Assert.Contains("\"stateful\": true", KerasModelJson.Write(model), StringComparison.Ordinal);
    }

    [Fact]
    public void NeedsAFixedBatchSize()
    {
        var e = Assert.ThrowsAny<Exception>(() => RecurrentHarness.Model(new LSTM(new LSTMConfig { Units = 3, Stateful = true }), Time, Features));
        Assert.Contains("fixed batch size", e.ToString());
    }

    [Theory]
    [InlineData("LSTM", false)]
    [InlineData("GRU", false)]
    [InlineData("LSTM", true)]
    public void ExportedStateContinuesTheSequence(string kind, bool training)
    {
        RecurrentLayer layer = kind == "LSTM"
            ? new LSTM(new LSTMConfig { Units = Units, Stateful = true })
            : new GRU(new GRUConfig { Units = Units, Stateful = true });
        var input = Input.Of([Time, Features], batchSize: Batch);
        var model = new Functional(input, layer.Apply(input));
        RecurrentHarness.Randomize(model, 41);
        var onnx = model.ToOnnx(new ExportOptions { Training = training });
        OnnxChecker.Check(onnx);
        var names = layer.StateCount == 2 ? new[] { "state_h", "state_c" } : ["state_h"];
        foreach (var n in names)
        {
            Assert.Contains(onnx.Graph.Initializer, t => t.Name == $"{layer.Name}/{n}");
            Assert.Contains(onnx.Graph.Output, o => o.Name == $"{layer.Name}/{n}/new");
        }
        if (!training) Assert.Contains(onnx.Graph.Input, i => i.Name == $"{layer.Name}/state_h");

        // Two calls, the second fed the first one's state, equal one pass over the concatenated sequence.
        var x1 = Reference.Random(Batch * Time * Features, 42);
        var x2 = Reference.Random(Batch * Time * Features, 43);
        var first = Ort.Run(onnx, (onnx.Graph.Input[0].Name, x1, [Batch, Time, Features]));
        var feeds = new List<(string, float[], int[])> { (onnx.Graph.Input[0].Name, x2, [Batch, Time, Features]) };
        feeds.AddRange(names.Select(n => ($"{layer.Name}/{n}", first[$"{layer.Name}/{n}/new"].Data, new[] { Batch, Units })));
        var second = Ort.Run(onnx, [.. feeds]);
        var joined = new float[2 * Batch * Time * Features];
        for (var b = 0; b < Batch; b++)
        {
            Array.Copy(x1, b * Time * Features, joined, b * 2 * Time * Features, Time * Features);
            Array.Copy(x2, b * Time * Features, joined, (b * 2 + 1) * Time * Features, Time * Features);
        }
        var reference = RecurrentHarness.Cell(layer, joined, Batch, 2 * Time, Features);
        Reference.AssertClose(reference.H, second[onnx.Graph.Output[0].Name].Data, 1e-5, "output after two calls");
        Reference.AssertClose(reference.H, second[$"{layer.Name}/state_h/new"].Data, 1e-5, "carried h");
    }

    [Fact]
    public void TrainStepCarriesTheStateAsState()
    {
        var model = KerasModelJson.Read(KerasJson);
        var compiled = TrainingGraph.Compile(model, "mse", new Adam());
        OnnxChecker.Check(compiled.Model);
        var carried = compiled.Signature.State.Select(s => s.Input).ToList();
        Assert.Equal(["lstm/state_h", "lstm/state_c"], carried);
        Assert.All(compiled.Signature.State, s => Assert.Contains(compiled.Model.Graph.Output, o => o.Name == s.Output));
        Assert.DoesNotContain(compiled.Signature.Parameters, p => p.Input.Contains("state_", StringComparison.Ordinal));
    }
}
