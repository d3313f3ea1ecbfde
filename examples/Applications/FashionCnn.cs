using NeuralService.Cli.Commands;
using NeuralService.Training.Data;

namespace NeuralService.Applications;

/// <summary>(a) The seed CNN (onnx-models/specs/mnist_cnn.json) on Fashion-MNIST: pixels / 255 as [28, 28, 1],
/// sparse cross-entropy, Adam 1e-3, evaluated on the 10000 test images.</summary>
public static class FashionCnn
{
    public static AppResult Run(AppOptions options) => Run(options, "fashion-cnn", "fashion-mnist", 60000, 10000);

    /// <summary>The same CNN and recipe on the built-in dataset <paramref name="dataset"/> (its <c>:test</c> part for the
    /// evaluation): <paramref name="trainAll"/>/<paramref name="testAll"/> samples in a full run, 256/256 quick.</summary>
    internal static AppResult Run(AppOptions options, string app, string dataset, int trainAll, int testAll)
    {
        var trainN = options.Samples ?? (options.Quick ? 256 : trainAll);
        var testN = options.Quick ? 256 : testAll;
        var train = Load(dataset, trainN);
        var test = Load(dataset + ":test", testN);
        var (history, eval, trainer) = Common.Fit(Common.Spec("mnist_cnn.json"), train, test, options,
            options.Epochs ?? (options.Quick ? 2 : 5), 64, 1e-3, "sparse_categorical_crossentropy", ["accuracy"], options.Quick ? 0 : 0.1);
        trainer.Dispose();
        var plot = Common.PlotPath(options, app.Replace('-', '_') + ".png");
        HistoryPlot.Save(history, plot, "mnist_cnn");
        var counts = test.Labels!.ToInt64().GroupBy(v => v).Max(g => g.Count());
        return new AppResult(app, history["loss"], eval, new Dictionary<string, double> { ["majority_accuracy"] = (double)counts / test.Count }, plot);
    }

    internal static InMemoryDataset Load(string name, int n)
    {
        var all = BuiltinDatasets.Load(name);
        var take = Math.Min(n, all.Count);
        var x = all.Features.Slice(0, take).ToFloat32();
        for (var i = 0; i < x.Length; i++) x[i] /= 255f;
        return new InMemoryDataset(DataArray.Create(x, take, 28, 28, 1), all.Labels!.Slice(0, take), classNames: all.ClassNames);
    }
}
