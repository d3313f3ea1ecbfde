using System.Diagnostics;
using NeuralService.Cli.Commands;
using NeuralService.Graph.Core;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training;
using NeuralService.Training.Data;

namespace NeuralService.Applications;

/// <summary>(d) Transfer learning in the seed's two stages on ML.NET's pretrained ResNet18 (NuGet
/// Microsoft.ML.DnnImageFeaturizer.ResNet18, with its ResNetPreprocess mean subtraction). The network is split at the
/// input of its last residual stage (<see cref="ResNetBase"/>): the bottom stays frozen and runs in ONNX Runtime on every
/// augmented image each epoch; layer4 is imported into the model as an <see cref="ImportedBlock"/> under a new head
/// (GlobalAveragePooling2D → Dense softmax). Stage 1 trains the head with layer4 frozen (Adam 1e-3); stage 2 unfreezes
/// layer4 (convolutions and BatchNorm scale/bias; BatchNorm statistics stay frozen) and fine-tunes it with the head at
/// Adam 1e-5 from stage 1's weights, continuing the epoch count (<c>initial_epoch</c>). Augmentation: Keras
/// ImageDataGenerator shifts of 10%, zoom 10%, horizontal flips, on the 28×28 image before upsampling (the same
/// bilinear resampling either way, 64× fewer pixels). Images: Fashion-MNIST classes T-shirt/top, Pullover, Coat, Shirt
/// (the four most confusable), 28×28 grey upsampled bilinearly to 224×224 and copied into three channels (0..255).
/// Baseline: a Dense softmax head trained on the raw 784 pixels / 255.</summary>
public static class ResNetTransfer
{
    public static readonly int[] Classes = [0, 2, 4, 6];
    private const string Package = "microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels";
    public const double HeadLearningRate = 1e-3;
    public const double FineTuneLearningRate = 1e-5;

    public static string ModelDirectory()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var dir = Path.Combine(root, Package);
        if (!File.Exists(Path.Combine(dir, "ResNet18Onnx", "ResNet18.onnx")))
            throw new FileNotFoundException($"ResNet18.onnx not found under {dir}: run 'dotnet restore examples/Applications' (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1)");
        return dir;
    }

    /// <summary>The seed's augmentation (Keras ImageDataGenerator arguments).</summary>
    public static ImageDataGenerator Augmentation() => new(widthShiftRange: 0.1, heightShiftRange: 0.1, zoomRange: 0.1, horizontalFlip: true);

    /// <summary>layer4 input → layer4 (frozen until stage 2) → GlobalAveragePooling2D → Dense(4, softmax).</summary>
    public static Model BuildModel(GraphCut layer4)
    {
        var x = Input.Of([.. ResNetBase.Layer4InputShape.Select(d => (int?)d)], "layer4_input");
        var h = new ImportedBlock(layer4, name: "layer4", source: "ResNet18.onnx", trainable: false).Apply(x);
        h = new GlobalAveragePooling2D(new GlobalPoolingConfig { Name = "pool", DataFormat = "channels_first" }).Apply(h);
        var y = new Dense(Classes.Length, "softmax", name: "classes").Apply(h);
        return new Functional(x, y, "resnet18_transfer");
    }

    public static AppResult Run(AppOptions options)
    {
        var perClassTrain = options.Samples ?? (options.Quick ? 2 : 100);
        var perClassTest = options.Quick ? 1 : 50;
        var epochs = options.Epochs ?? (options.Quick ? 1 : 4);
        var batch = options.Quick ? 8 : 16;
        var (trainPixels, trainLabels) = Pick("fashion-mnist", perClassTrain);
        var (testPixels, testLabels) = Pick("fashion-mnist:test", perClassTest);
        var labels = DataArray.Vector(trainLabels);
        var testY = DataArray.Vector(testLabels);
        using var resnet = new ResNetBase(ModelDirectory());

        var clock = Stopwatch.StartNew();
        var test = new InMemoryDataset(resnet.Features(Images(testPixels)), testY);
        options.Log.WriteLine($"frozen ResNet18 bottom on {testPixels.Count} test images in {clock.Elapsed.TotalSeconds:F0}s");
        var train = new BottomFeatureDataset(Augmentation().Flow(new InMemoryDataset(Images(trainPixels), labels), batch, shuffle: true, seed: options.Seed), resnet);

        var model = BuildModel(resnet.Top);
        var layer4 = model.GetLayer("layer4");
        using var trainer = new Trainer(model, seed: options.Seed);
        clock.Restart();
        trainer.Compile(new Adam { LearningRate = HeadLearningRate }, "sparse_categorical_crossentropy", ["accuracy"]);
        var before = Snapshot(layer4);
        var stage1 = trainer.Fit(train, test.Batches(batch), new FitOptions { Epochs = epochs, BatchSize = batch, Output = options.Log, Verbose = 2 });
        var eval1 = trainer.Evaluate(test, batch);
        var stage1Seconds = clock.Elapsed.TotalSeconds;
        var afterStage1 = Snapshot(layer4);
        options.Log.WriteLine($"stage 1 (head, layer4 frozen): test accuracy {eval1["accuracy"]:F3} in {stage1Seconds:F0}s");

        clock.Restart();
        layer4.Trainable = true;
        trainer.Compile(new Adam { LearningRate = FineTuneLearningRate }, "sparse_categorical_crossentropy", ["accuracy"]);
        var stage2 = trainer.Fit(train, test.Batches(batch),
            new FitOptions { Epochs = 2 * epochs, InitialEpoch = epochs, BatchSize = batch, Output = options.Log, Verbose = 2 });
        var eval2 = trainer.Evaluate(test, batch);
        var stage2Seconds = clock.Elapsed.TotalSeconds;
        options.Log.WriteLine($"stage 2 (layer4 fine-tuned): test accuracy {eval2["accuracy"]:F3} in {stage2Seconds:F0}s");

        var (rawHistory, rawEval, raw) = Common.Fit(Head(784, "pixel_head"), new InMemoryDataset(Raw(trainPixels), labels),
            new InMemoryDataset(Raw(testPixels), testY), options, options.Quick ? 5 : 40, 32, 1e-3, "sparse_categorical_crossentropy", ["accuracy"]);
        raw.Dispose();

        var history = Concat(stage1, stage2);
        var plot = Common.PlotPath(options, "resnet_transfer.png");
        Plot(history, epochs, rawEval["accuracy"], plot);
        var metrics = new Dictionary<string, double>(eval2)
        {
            ["stage1_accuracy"] = eval1["accuracy"],
            ["stage1_loss"] = eval1["loss"],
            ["stage1_s"] = stage1Seconds,
            ["stage2_s"] = stage2Seconds,
            ["train_s"] = stage1Seconds + stage2Seconds,
            ["layer4_change_stage1"] = MaxChange(before, afterStage1),
            ["layer4_change_stage2"] = MaxChange(afterStage1, Snapshot(layer4)),
        };
        return new AppResult("resnet-transfer", history["loss"], metrics,
            new Dictionary<string, double>
            {
                ["raw_pixel_accuracy"] = rawEval["accuracy"],
                ["raw_pixel_loss"] = rawEval["loss"],
                ["majority_accuracy"] = testLabels.GroupBy(l => l).Max(g => g.Count()) / (double)testLabels.Length,
            }, plot);
    }

    private static Dictionary<string, float[]> Snapshot(Layer layer) => layer.Weights.ToDictionary(w => w.Path, w => w.Data.ToArray());

    /// <summary>The largest absolute change of any weight between two snapshots.</summary>
    private static double MaxChange(Dictionary<string, float[]> a, Dictionary<string, float[]> b) =>
        a.Max(kv => kv.Value.Zip(b[kv.Key]).Max(p => Math.Abs(p.First - p.Second)));

    /// <summary>One history over both stages: stage 2 continues stage 1's epoch numbers.</summary>
    private static History Concat(History first, History second)
    {
        var all = new History();
        foreach (var h in new[] { first, second })
            for (var i = 0; i < h.Epochs.Count; i++)
                all.Add(h.Epochs[i], h.Values.ToDictionary(kv => kv.Key, kv => kv.Value[i]));
        return all;
    }

    private static void Plot(History history, int stage1Epochs, double rawAccuracy, string path)
    {
        var x = history.Epochs.Select(e => e + 1.0).ToArray();
        // Stage 2's first epoch is stage1Epochs + 1: the boundary sits between the two stages' points.
        HistoryPlot.Marker[] boundary = [new(stage1Epochs + 0.5, "layer4 unfrozen (stage 2)")];
        HistoryPlot.Save([
            new HistoryPlot.Panel("loss", "epoch", [
                new("training (augmented)", x, history["loss"].ToArray(), HistoryPlot.Train, false),
                new("held-out test", x, history["val_loss"].ToArray(), HistoryPlot.Validation, true)]) { Markers = boundary },
            new HistoryPlot.Panel("accuracy", "epoch", [
                new("training (augmented)", x, history["accuracy"].ToArray(), HistoryPlot.Train, false),
                new("held-out test", x, history["val_accuracy"].ToArray(), HistoryPlot.Validation, true),
                new("raw-pixel head (test)", [x[0], x[^1]], [rawAccuracy, rawAccuracy], ScottPlot.Colors.Gray, true)]) { Markers = boundary },
        ], path);
    }

    private static Model Head(int inputs, string name) => Common.Json($$$"""
        {"class_name": "Sequential", "config": {"name": "{{{name}}}", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, {{{inputs}}}], "name": "features"}},
          {"class_name": "Dense", "config": {"units": {{{Classes.Length}}}, "activation": "softmax", "name": "classes"}}]}}
        """);

    /// <summary>The first <paramref name="perClass"/> images of each class in <see cref="Classes"/>, labels 0..k-1.</summary>
    private static (List<byte[]> Pixels, long[] Labels) Pick(string name, int perClass)
    {
        var all = BuiltinDatasets.Load(name);
        var y = all.Labels!.ToInt64();
        var x = all.Features.As<byte>();
        var pixels = new List<byte[]>();
        var labels = new List<long>();
        var taken = new int[Classes.Length];
        for (var i = 0; i < y.Length && taken.Sum() < perClass * Classes.Length; i++)
        {
            var c = Array.IndexOf(Classes, (int)y[i]);
            if (c < 0 || taken[c] == perClass) continue;
            taken[c]++;
            pixels.Add(x.AsSpan(i * 784, 784).ToArray());
            labels.Add(c);
        }
        return (pixels, labels.ToArray());
    }

    private static DataArray Raw(List<byte[]> images) =>
        DataArray.Create(images.SelectMany(p => p.Select(v => v / 255f)).ToArray(), images.Count, 784);

    /// <summary>Grey images as [n, 28, 28, 1] floats 0..255 (the layout ImageDataGenerator takes).</summary>
    private static DataArray Images(List<byte[]> images) =>
        DataArray.Create(images.SelectMany(p => p.Select(v => (float)v)).ToArray(), images.Count, 28, 28, 1);
}
