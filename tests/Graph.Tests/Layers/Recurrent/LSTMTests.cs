using NeuralService.Graph.Layers;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Recurrent;

public sealed class LSTMTests
{
    [Fact]
    public void CountsParametersLikeKeras()
    {
        var layer = new LSTM(64);
        RecurrentHarness.Model(layer, 10, 128);
        Assert.Equal(4 * 64 * (128 + 64) + 4 * 64, layer.CountParams());
        Assert.Equal(49_408, layer.CountParams());
        Assert.Equal([128L, 256], layer.Weights[0].Shape);
        Assert.Equal([64L, 256], layer.Weights[1].Shape);
        Assert.Equal([256L], layer.Weights[2].Shape);
    }

    [Fact]
    public void UnitForgetBiasStartsTheForgetGateAtOne()
    {
        var layer = new LSTM(3);
        RecurrentHarness.Model(layer, 2, 2);
        Assert.Equal([0f, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0], layer.Weights[2].Data);
    }

    [Theory]
    [InlineData(false, false, false)]
    [InlineData(true, false, false)]
    [InlineData(true, true, false)]
    [InlineData(false, true, true)]
    [InlineData(true, false, true)]
    public void MatchesTheKerasCell(bool returnSequences, bool returnState, bool goBackwards)
    {
        const int batch = 2, time = 5, features = 3;
        var layer = new LSTM(4, returnSequences, returnState, goBackwards);
        var model = RecurrentHarness.Model(layer, time, features);
        RecurrentHarness.Randomize(model, 11);
        var x = Reference.Random(batch * time * features, 3);
        var e = RecurrentHarness.Run(model, x, [batch, time, features]);
        Assert.True(RecurrentHarness.Uses(e.Inference, "LSTM"));
        Assert.False(RecurrentHarness.Uses(e.Training, "LSTM"));
        var r = RecurrentHarness.Cell(layer, x, batch, time, features);
        RecurrentHarness.AssertOutputs(e, RecurrentHarness.Expected(layer, r, batch, time));
    }

    [Fact]
    public void ReluAndHardSigmoidStayFusedAndOtherActivationsFallBackToTheUnrolledCell()
    {
        const int batch = 2, time = 4, features = 3;
        foreach (var (activation, recurrentActivation, fused) in new[] { ("relu", "sigmoid", true), ("tanh", "hard_sigmoid", true), ("relu", "hard_sigmoid", true), ("softsign", "sigmoid", false) })
        {
            var layer = new LSTM(new LSTMConfig { Units = 3, Activation = activation, RecurrentActivation = recurrentActivation, ReturnSequences = true });
            var model = RecurrentHarness.Model(layer, time, features);
            RecurrentHarness.Randomize(model, 5);
            var x = Reference.Random(batch * time * features, 9);
            var e = RecurrentHarness.Run(model, x, [batch, time, features]);
            Assert.Equal(fused, RecurrentHarness.Uses(e.Inference, "LSTM"));
            RecurrentHarness.AssertOutputs(e, RecurrentHarness.Expected(layer, RecurrentHarness.Cell(layer, x, batch, time, features), batch, time));
        }
    }

    [Fact]
    public void MaskedStepsCarryTheState()
    {
        const int batch = 2, time = 5, features = 3;
        var layer = new LSTM(4, returnSequences: true, returnState: true);
        var model = RecurrentHarness.Model(layer, time, features, masked: true);
        RecurrentHarness.Randomize(model, 21);
        var x = Reference.Random(batch * time * features, 4);
        // Sample 0: right padding after 3 steps; sample 1: a hole at step 1.
        var mask = new bool[batch * time];
        for (var b = 0; b < batch; b++)
            for (var t = 0; t < time; t++)
            {
                mask[b * time + t] = b == 0 ? t < 3 : t != 1;
                if (!mask[b * time + t]) for (var f = 0; f < features; f++) x[(b * time + t) * features + f] = 0;
            }
        var e = RecurrentHarness.Run(model, x, [batch, time, features]);
        Assert.False(RecurrentHarness.Uses(e.Inference, "LSTM"));
        Assert.True(RecurrentHarness.Uses(e.Inference, "Where"));
        var r = RecurrentHarness.Cell(layer, x, batch, time, features, mask);
        RecurrentHarness.AssertOutputs(e, RecurrentHarness.Expected(layer, r, batch, time));
    }

    [Fact]
    public void InitialStatesAreExtraInputs()
    {
        const int batch = 2, time = 3, features = 2, units = 3;
        var layer = new LSTM(units, returnState: true);
        var x = Input.Of(time, features);
        var h0 = Input.Of(units);
        var c0 = Input.Of(units);
        var model = new Graph.Models.Functional([x, h0, c0], layer.ApplyMulti([x, h0, c0]));
        RecurrentHarness.Randomize(model, 2);
        var xs = Reference.Random(batch * time * features, 1);
        var hs = Reference.Random(batch * units, 2);
        var cs = Reference.Random(batch * units, 3);
        var w = layer.Weights;
        var r = RecurrentReference.Run("LSTM", xs, batch, time, features, units, w[0].Data, w[1].Data, w[2].Data, h0: hs, c0: cs);
        foreach (var training in new[] { false, true })
        {
            var onnx = model.ToOnnx(new Graph.Models.ExportOptions { Training = training });
            OnnxChecker.Check(onnx);
            var outs = Ort.Run(onnx, (onnx.Graph.Input[0].Name, xs, [batch, time, features]),
                (onnx.Graph.Input[1].Name, hs, [batch, units]), (onnx.Graph.Input[2].Name, cs, [batch, units]));
            var ordered = onnx.Graph.Output.Select(o => outs[o.Name].Data).ToList();
            Reference.AssertClose(r.H, ordered[0]);
            Reference.AssertClose(r.H, ordered[1]);
            Reference.AssertClose(r.C!, ordered[2]);
        }
    }

    [Fact]
    public void UnknownLengthExportsFusedForInferenceAndScanForTraining()
    {
        var layer = new LSTM(3);
        var model = RecurrentHarness.Model(layer, null, 2);
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var x = Reference.Random(1 * 7 * 2, 8);
        var (y, dims) = Ort.Run1(onnx, x, [1, 7, 2]);
        Assert.Equal([1, 3], dims);
        Reference.AssertClose(RecurrentHarness.Cell(layer, x, 1, 7, 2).H, y);
        // Training mode: one Scan whatever the length; two lengths through the same graph.
        var training = model.ToOnnx(new Graph.Models.ExportOptions { Training = true });
        OnnxChecker.Check(training);
        Assert.True(RecurrentHarness.Uses(training, "Scan"));
        foreach (var time in new[] { 7, 3 })
        {
            var xs = Reference.Random(2 * time * 2, 9 + time);
            var (yt, dt) = Ort.Run1(training, xs, [2, time, 2]);
            Assert.Equal([2, 3], dt);
            Reference.AssertClose(RecurrentHarness.Cell(layer, xs, 2, time, 2).H, yt);
        }
        // The unrolled form needs the length.
        layer.Form = RecurrentForm.Decomposed;
        var e = Assert.ThrowsAny<Graph.Core.GraphException>(() => model.ToOnnx(new Graph.Models.ExportOptions { Training = true }));
        Assert.Contains("known sequence length", e.Message);
    }

    [Fact]
    public void DropoutInTrainingExportsValidRandomGraph()
    {
        const int batch = 2, time = 3, features = 4;
        var layer = new LSTM(new LSTMConfig { Units = 3, Dropout = 0.5, RecurrentDropout = 0.3, ReturnSequences = true });
        var model = RecurrentHarness.Model(layer, time, features);
        var x = Reference.Random(batch * time * features, 1);
        var e = RecurrentHarness.Run(model, x, [batch, time, features]);
        Assert.True(RecurrentHarness.Uses(e.Training, "RandomUniformLike"));
        Assert.False(RecurrentHarness.Uses(e.Inference, "RandomUniformLike"));
        Assert.Equal([batch, time, 3], e.TrainingOutputs[0].Dims);
        Assert.All(e.TrainingOutputs[0].Data, v => Assert.True(float.IsFinite(v)));
        Reference.AssertClose(RecurrentHarness.Cell(layer, x, batch, time, features).Sequence, e.InferenceOutputs[0].Data);
        // The masks do drop: the training output differs from the inference one.
        var diff = e.TrainingOutputs[0].Data.Zip(e.InferenceOutputs[0].Data, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(diff > 1e-3, $"training and inference outputs agree to {diff}: dropout had no effect");
        // Also with ONNX Runtime's graph optimizations on, as the trainer runs it.
        using var options = new Microsoft.ML.OnnxRuntime.SessionOptions { GraphOptimizationLevel = Microsoft.ML.OnnxRuntime.GraphOptimizationLevel.ORT_ENABLE_ALL };
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(e.Training), options);
        using var r = session.Run([Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(e.Training.Graph.Input[0].Name,
            new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(x, [batch, time, features]))]);
        var optimized = r.First().AsTensor<float>().ToArray();
        var diff2 = optimized.Zip(e.InferenceOutputs[0].Data, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(diff2 > 1e-3, $"optimized session: training and inference outputs agree to {diff2}: dropout had no effect");
    }
}
