using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Fit;

/// <summary>Recurrent layers train with an open sequence length: one compiled step, batches of different lengths and a
/// last partial batch.</summary>
public sealed class RecurrentFitTests
{
    /// <summary>Sequences of 2 features whose length changes from batch to batch; label 1 when the first feature sums to
    /// more than 0 (the layer must carry it through the recurrence).</summary>
    private sealed class VariableLengthSequences(int count, int batchSize, int seed) : IDataset
    {
        private static readonly int[] Lengths = [3, 7, 5, 9, 4];

        public IReadOnlyList<int> FeatureShape => [0, 2];
        public int? BatchCount => (count + batchSize - 1) / batchSize;
        public List<int> SeenLengths { get; } = [];
        public List<int> SeenSizes { get; } = [];

        public IEnumerable<Batch> GetBatches(int epoch = 0)
        {
            var rng = new Random(seed);
            for (var start = 0; start < count; start += batchSize)
            {
                var n = Math.Min(batchSize, count - start);
                var time = Lengths[start / batchSize % Lengths.Length];
                var x = new float[n * time * 2];
                var y = new float[n];
                for (var i = 0; i < n; i++)
                {
                    var sum = 0.0;
                    for (var t = 0; t < time; t++)
                    {
                        var a = (float)(rng.NextDouble() * 2 - 1);
                        x[(i * time + t) * 2] = a;
                        x[(i * time + t) * 2 + 1] = (float)(rng.NextDouble() * 2 - 1);
                        sum += a;
                    }
                    y[i] = sum > 0 ? 1 : 0;
                }
                SeenLengths.Add(time);
                SeenSizes.Add(n);
                yield return new Batch(DataArray.Create(x, n, time, 2), DataArray.Create(y, n, 1));
            }
        }
    }

    public static TheoryData<string> Layers => ["SimpleRNN", "LSTM", "GRU", "GRU reset_before", "Bidirectional GRU", "LSTM dropout"];

    [Theory]
    [MemberData(nameof(Layers))]
    public void TrainsOnBatchesOfDifferentLengths(string kind)
    {
        Layer layer = kind switch
        {
            "SimpleRNN" => new SimpleRNN(8),
            "LSTM" => new LSTM(8),
            "GRU" => new GRU(8),
            "GRU reset_before" => new GRU(8, resetAfter: false),
            "Bidirectional GRU" => new Bidirectional(new GRU(6)),
            _ => new LSTM(new LSTMConfig { Units = 8, Dropout = 0.1, RecurrentDropout = 0.1 }),
        };
        var input = Input.Of([null, 2]);
        var model = new Functional(input, new Dense(1, "sigmoid").Apply(layer.Apply(input)));
        using var trainer = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 1 }, seed: 2);
        trainer.Compile(new Adam { LearningRate = 0.03 }, "binary_crossentropy", ["accuracy"]);
        var data = new VariableLengthSequences(300, 32, 7);
        var history = trainer.Fit(data, null, new FitOptions { Epochs = 12, Verbose = 0 });
        // One graph for every length: the sequence axis of the compiled step's input is open.
        Assert.Equal([3, 7, 5, 9, 4, 3, 7, 5, 9, 4], data.SeenLengths.Take(10));
        Assert.Equal(12, data.SeenSizes[^1]);
        var loss = history["loss"];
        Assert.True(loss[^1] < loss[0] * 0.6, $"{kind}: loss {loss[0]:F3} → {loss[^1]:F3}");
        Assert.True(history["accuracy"][^1] > 0.85, $"{kind}: accuracy {history["accuracy"][^1]:F3}");
        var eval = trainer.Evaluate(new VariableLengthSequences(96, 32, 8));
        Assert.True(eval["accuracy"] > 0.8, $"{kind}: held-out accuracy {eval["accuracy"]:F3}");
    }
}
