using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training.Callbacks;
using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Fit;

public sealed class TrainerTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("trainer");
    public void Dispose() => _dir.Delete(recursive: true);

    private static Sequential Mlp() => new([
        new InputLayer(new InputLayerConfig { BatchShape = [null, 4] }), new Dense(16, "relu"), new Dense(3, "softmax"),
    ]);

    private static Trainer Compiled(Model model)
    {
        var t = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 1 }, seed: 3);
        t.Compile(new Adam { LearningRate = 0.01 }, "sparse_categorical_crossentropy", ["accuracy"]);
        return t;
    }

    [Fact]
    public void TheSeedDrawsTheInitialWeightsButKeepsAssignedOnes()
    {
        var x = SyntheticData.Blobs(8, 1).Features;
        float[] Initial(int seed, float? assigned = null)
        {
            // Named layers: seed 0 draws from the weights' paths, so equal names give equal weights.
            var model = new Sequential([
                new InputLayer(new InputLayerConfig { BatchShape = [null, 4] }), new Dense(16, "relu", name: "hidden"), new Dense(3, "softmax", name: "classes"),
            ]);
            if (assigned is { } v)
                foreach (var w in model.Weights) w.Assign(Enumerable.Repeat(v, (int)w.Size).ToArray());
            using var trainer = new Trainer(model, new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 1 }, seed);
            return trainer.Predict(x)[0];
        }
        Assert.Equal(Initial(1), Initial(1));
        Assert.NotEqual(Initial(1), Initial(2));
        Assert.NotEqual(Initial(0), Initial(1));
        // Loaded weights (here: assigned) are the model's, whatever the seed.
        Assert.Equal(Initial(1, 0.1f), Initial(2, 0.1f));
    }

    [Fact]
    public void FitLearnsAndEvaluatePredictAgree()
    {
        var data = SyntheticData.Blobs(600, 1);
        var test = SyntheticData.Blobs(300, 2);
        using var trainer = Compiled(Mlp());
        var history = trainer.Fit(data, new FitOptions { Epochs = 8, BatchSize = 32, ValidationSplit = 0.2, Verbose = 0 });
        Assert.Equal(8, history["loss"].Count);
        Assert.True(history["loss"][^1] < history["loss"][0] * 0.5, $"loss {history["loss"][0]} → {history["loss"][^1]}");
        Assert.True(history["val_accuracy"][^1] > 0.9, string.Join(",", history.Values.Keys));
        // One evaluation session serves every epoch's validation: it must see each epoch's weights.
        Assert.True(history["val_loss"][^1] < history["val_loss"][0] * 0.5, $"val_loss {history["val_loss"][0]} → {history["val_loss"][^1]}");
        var eval = trainer.Evaluate(test);
        Assert.True(eval["accuracy"] > 0.9);
        var probs = trainer.Predict(test.Features)[0];
        var labels = test.Labels!.ToInt64();
        var correct = Enumerable.Range(0, test.Count).Count(i => Enumerable.Range(0, 3).MaxBy(c => probs[i * 3 + c]) == labels[i]);
        Assert.Equal(eval["accuracy"], (double)correct / test.Count, 3);
    }

    [Fact]
    public void TheRateEachEpochTrainedWithIsLoggedWhenACallbackSteersIt()
    {
        var data = SyntheticData.Blobs(64, 1);
        using var trainer = Compiled(Mlp());
        var history = trainer.Fit(data, new FitOptions { Epochs = 3, BatchSize = 32, Verbose = 0, Callbacks = [new LearningRateScheduler((e, lr) => e == 0 ? lr : lr / 2)] });
        Assert.Equal([0.01, 0.005, 0.0025], history["learning_rate"].Select(r => Math.Round(r, 9)));
        using var plain = Compiled(Mlp());
        Assert.DoesNotContain("learning_rate", plain.Fit(data, new FitOptions { Epochs = 1, Verbose = 0 }).Values.Keys);
    }

    [Fact]
    public void TrainedWeightsReachTheModelAndItsExport()
    {
        var model = Mlp();
        var before = model.Weights[0].Data.ToArray();
        using var trainer = Compiled(model);
        trainer.Fit(SyntheticData.Blobs(64, 1), new FitOptions { Epochs = 1, Verbose = 0 });
        Assert.NotEqual(before, model.Weights[0].Data);
        var path = Path.Combine(_dir.FullName, "m.onnx");
        trainer.ExportModel(path);
        Assert.True(new FileInfo(path).Length > 0);
    }

    [Fact]
    public void ACheckpointResumesToIdenticalContinuation()
    {
        var data = SyntheticData.Blobs(128, 4);
        var options = new FitOptions { Epochs = 2, BatchSize = 16, Shuffle = false, Verbose = 0 };
        var ckpt = Path.Combine(_dir.FullName, "a.ckpt");

        using var straight = Compiled(Mlp());
        straight.Fit(data, options);
        straight.SaveCheckpoint(ckpt, 2);
        var continued = straight.Fit(data, options with { Epochs = 3, InitialEpoch = 2 });

        using var resumed = Compiled(Mlp());
        resumed.Fit(data, options with { Epochs = 1 });   // different state, then overwritten by the checkpoint
        Assert.Equal(2, resumed.LoadCheckpoint(ckpt));
        var again = resumed.Fit(data, options with { Epochs = 3, InitialEpoch = 2 });
        Assert.Equal(continued["loss"][0], again["loss"][0], 6);
        Assert.Equal(straight.Step, resumed.Step);
    }

    [Fact]
    public void CallbacksSeeEpochLogsAndCanStopTraining()
    {
        var csv = Path.Combine(_dir.FullName, "log.csv");
        using var trainer = Compiled(Mlp());
        var stop = new EarlyStopping(monitor: "loss", patience: 0, minDelta: 10);
        var history = trainer.Fit(SyntheticData.Blobs(64, 1), new FitOptions { Epochs = 10, Verbose = 0, Callbacks = [stop, new CsvLogger(csv)] });
        Assert.Equal(2, history.Epochs.Count);
        Assert.Equal(3, File.ReadAllLines(csv).Length);
    }

    /// <summary>A second run on the same backup directory starts at the saved epoch with exactly the saved parameters,
    /// optimizer slots and step count (seen by a callback before the first resumed batch).</summary>
    [Fact]
    public void BackupAndRestoreResumesAKilledRun()
    {
        var data = SyntheticData.Blobs(64, 5);
        var backup = new BackupAndRestore(Path.Combine(_dir.FullName, "backup"), deleteOnTrainEnd: false);
        TrainingSnapshot saved;
        // Named layers: the same tensor names in both runs, so the comparison below is by name.
        static Sequential Named() => new([
            new InputLayer(new InputLayerConfig { BatchShape = [null, 4] }), new Dense(16, "relu", name: "h"), new Dense(3, "softmax", name: "out"),
        ]);
        using (var first = Compiled(Named()))
        {
            first.Fit(data, new FitOptions { Epochs = 2, Verbose = 0, Callbacks = [backup] });
            saved = first.Snapshot();
        }
        Assert.True(saved.Step > 0);
        // Adam's slots are zeros in a fresh run: equal slots below can only come from the backup.
        var slots = saved.Tensors.Keys.Where(k => k.StartsWith("adam/", StringComparison.Ordinal) && k.Count(c => c == '/') > 1).ToList();
        Assert.True(slots.Count >= 8, string.Join(", ", saved.Tensors.Keys));
        Assert.All(slots, k => Assert.Contains(saved.Tensors[k], v => v != 0));

        using var second = Compiled(Named());
        var atStart = new SnapshotAtTrainBegin();
        var history = second.Fit(data, new FitOptions { Epochs = 4, Verbose = 0, Callbacks = [backup, atStart] });
        Assert.Equal([2, 3], history.Epochs);
        var resumed = atStart.Snapshot!;
        Assert.Equal(saved.Step, resumed.Step);
        Assert.Equal(saved.Tensors.Keys.Order(), resumed.Tensors.Keys.Order());
        foreach (var (name, values) in saved.Tensors) Assert.True(values.SequenceEqual(resumed.Tensors[name]), $"{name} was not restored");
    }

    private sealed class SnapshotAtTrainBegin : Callback
    {
        public TrainingSnapshot? Snapshot { get; private set; }
        public override void OnTrainBegin(ITrainingControl control) => Snapshot = control.Snapshot();
    }
}
