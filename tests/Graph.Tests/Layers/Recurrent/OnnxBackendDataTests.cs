using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using Onnx;

namespace NeuralService.Graph.Tests.Layers.Recurrent;

/// <summary>Cross-checks against ONNX's own backend test data: the ONNX weights are converted to Keras's layout and
/// gate order, and both our exports must reproduce ONNX's expected Y_h.</summary>
public sealed class OnnxBackendDataTests
{
    private const string Root = "/usr/share/libonnx-testdata/data/node";

    [Theory]
    [InlineData("test_lstm_defaults")]
    [InlineData("test_lstm_with_initial_bias")]
    [InlineData("test_gru_defaults")]
    [InlineData("test_gru_with_initial_bias")]
    [InlineData("test_simple_rnn_defaults")]
    [InlineData("test_simple_rnn_with_initial_bias")]
    public void ReproducesOnnxExpectedOutput(string name)
    {
        var dir = Path.Combine(Root, name);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "model.onnx")));
        var opType = model.Graph.Node[0].OpType;
        var inputs = Enumerable.Range(0, model.Graph.Input.Count)
            .Select(i => TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "test_data_set_0", $"input_{i}.pb")))).ToList();
        var expected = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "test_data_set_0", "output_0.pb")));
        var (x, w, r) = (inputs[0], Tensors.ToFloats(inputs[1]), Tensors.ToFloats(inputs[2]));
        var b = inputs.Count > 3 ? Tensors.ToFloats(inputs[3]) : null;
        var (time, batch, features) = ((int)x.Dims[0], (int)x.Dims[1], (int)x.Dims[2]);
        var units = (int)inputs[2].Dims[2];
        var gates = (int)inputs[1].Dims[1] / units;
        // Keras gate k is ONNX gate order[k] (LSTM: Keras i f c o, ONNX i o f c).
        int[] order = gates == 4 ? [0, 2, 3, 1] : [.. Enumerable.Range(0, gates)];
        var width = gates * units;
        var kernel = new float[features * width];
        var recurrent = new float[units * width];
        var bias = new float[width];
        for (var k = 0; k < gates; k++)
            for (var j = 0; j < units; j++)
            {
                var row = order[k] * units + j;
                for (var i = 0; i < features; i++) kernel[i * width + k * units + j] = w[row * features + i];
                for (var m = 0; m < units; m++) recurrent[m * width + k * units + j] = r[row * units + m];
                // ONNX adds Wb + Rb; with linear_before_reset = 0 both sit outside the reset gate, as Keras's single bias.
                if (b is not null) bias[k * units + j] = b[row] + b[width + row];
            }
        RecurrentLayer layer = opType switch
        {
            "LSTM" => new LSTM(new LSTMConfig { Units = units, TimeMajor = true }),
            "GRU" => new GRU(new GRUConfig { Units = units, TimeMajor = true, ResetAfter = false }),
            _ => new SimpleRNN(new SimpleRNNConfig { Units = units, TimeMajor = true }),
        };
        var input = Input.Of([batch, features], batchSize: time);
        var keras = new Functional(input, layer.Apply(input));
        layer.Weights[0].Assign(kernel);
        layer.Weights[1].Assign(recurrent);
        layer.Weights[2].Assign(bias);
        var e = RecurrentHarness.Run(keras, Tensors.ToFloats(x), [time, batch, features]);
        RecurrentHarness.AssertOutputs(e, [(Tensors.ToFloats(expected), [batch, units])]);
    }
}
