using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training.Callbacks;
using NeuralService.Training.Execution;
using NeuralService.Training.Tests.Fit;

namespace NeuralService.Training.Tests.Support;

/// <summary>The test assembly's entry point. Under the test host it is never called; run as
/// <c>dotnet NeuralService.Training.Tests.dll train-child DIR</c> it trains with BackupAndRestore(DIR) for many
/// epochs, printing <c>epoch N</c> after each, until the kill test stops it.</summary>
public static class TrainChild
{
    public const string Mode = "train-child";

    public static Sequential Model() => new([
        new InputLayer(new InputLayerConfig { BatchShape = [null, 4], Name = "features" }),
        new Dense(new DenseConfig { Units = 16, Activation = "relu", Name = "hidden" }),
        new Dense(new DenseConfig { Units = 3, Activation = "softmax", Name = "classes" }),
    ], "killable");

    public static Trainer Compiled()
    {
        var t = new Trainer(Model(), new DeviceOptions { Kind = DeviceKind.Cpu, IntraOpThreads = 1 }, seed: 5);
        t.Compile(new Adam { LearningRate = 0.01 }, "sparse_categorical_crossentropy", ["accuracy"]);
        return t;
    }

    public static int Main(string[] args)
    {
        if (args.Length != 2 || args[0] != Mode)
        {
            Console.Error.WriteLine($"usage: NeuralService.Training.Tests {Mode} BACKUP_DIR");
            return 2;
        }
        using var trainer = Compiled();
        trainer.Fit(SyntheticData.Blobs(256, 1), new FitOptions
        {
            Epochs = 100_000, BatchSize = 32, Verbose = 0,
            Callbacks = [new BackupAndRestore(args[1]), new Announce()],
        });
        return 0;
    }

    private sealed class Announce : Callback
    {
        public override void OnEpochEnd(ITrainingControl control, int epoch, IReadOnlyDictionary<string, double> logs)
        {
            Console.WriteLine($"epoch {epoch + 1}");
            Thread.Sleep(50);
        }
    }
}
