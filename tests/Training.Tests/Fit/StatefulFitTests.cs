using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Fit;

/// <summary>stateful=True in Fit: the state carries from batch to batch, is zeroed as each epoch begins and by
/// ResetStates, and reaches the model after training.</summary>
public sealed class StatefulFitTests
{
    private const int Batch = 2, Time = 3, Features = 2, Units = 3;

    /// <summary>Consecutive chunks of the same sequences, in order.</summary>
    private sealed class Chunks(float[][] parts) : IDataset
    {
        public IReadOnlyList<int> FeatureShape => [Time, Features];
        public int? BatchCount => parts.Length;
        public IEnumerable<Batch> GetBatches(int epoch = 0) =>
            parts.Select(p => new Batch(DataArray.Create(p, Batch, Time, Features), DataArray.Create(new float[Batch * Units], Batch, Units)));
    }

    [Fact]
    public void StateCarriesAcrossBatchesAndResetsPerEpoch()
    {
        var lstm = new LSTM(new LSTMConfig { Units = Units, Stateful = true });
        var input = Input.Of([Time, Features], batchSize: Batch);
        // The LSTM is frozen, so that the state after an epoch is the recurrence over both chunks with known weights.
        lstm.Trainable = false;
        var model = new Functional(input, new Dense(Units).Apply(lstm.Apply(input)));
        var rng = new Random(5);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var parts = new[] { Random(Batch * Time * Features), Random(Batch * Time * Features) };
        var kernel = lstm.Weights.Select(w => w.Data.ToArray()).ToList();

        using var trainer = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 1 });
        trainer.Compile(new Sgd { LearningRate = 0.01 }, "mse");
        trainer.Fit(new Chunks(parts), null, new FitOptions { Epochs = 2, Verbose = 0 });
        Assert.Equal(kernel, lstm.Weights.Select(w => w.Data.ToArray()).ToList());

        var expected = Reference(lstm, parts);
        var h = lstm.CarriedStates[0].Data;
        for (var i = 0; i < h.Length; i++) Assert.Equal(expected[i], h[i], 4);

        trainer.ResetStates();
        Assert.All(lstm.CarriedStates, w => Assert.All(w.Data, v => Assert.Equal(0f, v)));
        // One more epoch from zeros reaches the same state again (epoch 2 above also began from zeros).
        trainer.Fit(new Chunks(parts), null, new FitOptions { Epochs = 1, Verbose = 0 });
        for (var i = 0; i < h.Length; i++) Assert.Equal(expected[i], lstm.CarriedStates[0].Data[i], 4);
    }

    [Fact]
    public void PredictCarriesStateFromBatchToBatch()
    {
        // Named, so its weights (seeded by layer name) are the same whatever other tests created layers before it.
        var lstm = new LSTM(new LSTMConfig { Units = Units, Stateful = true, Name = "carried_lstm" });
        var input = Input.Of([Time, Features], batchSize: Batch);
        var model = new Functional(input, lstm.Apply(input));
        var rng = new Random(7);
        float[] Random(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var parts = new[] { Random(Batch * Time * Features), Random(Batch * Time * Features) };
        // Batch 1 is chunk 1 of both sequences, batch 2 their chunk 2: the second batch's output is h after both chunks.
        var x = DataArray.Create([.. parts[0], .. parts[1]], 2 * Batch, Time, Features);

        using var trainer = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 1 });
        var h = trainer.Predict(x, batchSize: Batch)[0];

        var expected = Reference(lstm, parts);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], h[Batch * Units + i], 4);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], lstm.CarriedStates[0].Data[i], 4);
        // A fresh state gives the first chunk's output again, which differs from the carried one.
        trainer.ResetStates();
        var again = trainer.Predict(DataArray.Create(parts[1], Batch, Time, Features), batchSize: Batch)[0];
        Assert.NotEqual(expected[0], again[0], 3);
    }

    /// <summary>h after running the LSTM over the chunks joined along time, from zeros, via the model's own
    /// non-stateful export (fused ONNX LSTM).</summary>
    private static float[] Reference(LSTM stateful, float[][] parts)
    {
        var plain = new LSTM(Units);
        var input = Input.Of([2 * Time, Features]);
        var model = new Functional(input, plain.Apply(input));
        for (var i = 0; i < plain.Weights.Count; i++) plain.Weights[i].Assign(stateful.Weights[i].Data.ToArray());
        var joined = new float[2 * Batch * Time * Features];
        for (var b = 0; b < Batch; b++)
            for (var p = 0; p < 2; p++)
                Array.Copy(parts[p], b * Time * Features, joined, (b * 2 + p) * Time * Features, Time * Features);
        var onnx = model.ToOnnx();
        using var session = new Microsoft.ML.OnnxRuntime.InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(onnx));
        using var result = session.Run([Microsoft.ML.OnnxRuntime.NamedOnnxValue.CreateFromTensor(onnx.Graph.Input[0].Name,
            new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(joined, [Batch, 2 * Time, Features]))]);
        return result.First().AsTensor<float>().ToArray();
    }
}
