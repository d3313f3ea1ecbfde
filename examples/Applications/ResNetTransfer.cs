using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NeuralService.Cli.Commands;
using NeuralService.Training.Data;

namespace NeuralService.Applications;

/// <summary>(d) Transfer learning: ML.NET's pretrained ResNet18 (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18,
/// with its ResNetPreprocess mean subtraction) frozen as a feature extractor — one image per run, fixed input
/// [1, 3, 224, 224] — and a Dense softmax head trained on its 512 pooled features. Images: Fashion-MNIST classes
/// T-shirt/top, Pullover, Coat, Shirt (the four most confusable), 28×28 grey upsampled bilinearly to 224×224 and
/// copied into three channels (0..255). Baseline: the same head trained on the raw 784 pixels / 255.</summary>
public static class ResNetTransfer
{
    public static readonly int[] Classes = [0, 2, 4, 6];
    private const string Package = "microsoft.ml.dnnimagefeaturizer.resnet18/0.23.1/tools/DnnImageModels";

    public static string ModelDirectory()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var dir = Path.Combine(root, Package);
        if (!File.Exists(Path.Combine(dir, "ResNet18Onnx", "ResNet18.onnx")))
            throw new FileNotFoundException($"ResNet18.onnx not found under {dir}: run 'dotnet restore examples/Applications' (NuGet Microsoft.ML.DnnImageFeaturizer.ResNet18 0.23.1)");
        return dir;
    }

    public static AppResult Run(AppOptions options)
    {
        var perClassTrain = options.Samples ?? (options.Quick ? 6 : 150);
        var perClassTest = options.Quick ? 3 : 75;
        var (trainPixels, trainLabels) = Pick("fashion-mnist", perClassTrain);
        var (testPixels, testLabels) = Pick("fashion-mnist:test", perClassTest);
        var dir = ModelDirectory();
        using var prep = new InferenceSession(Path.Combine(dir, "ResNetPrepOnnx", "ResNetPreprocess.onnx"));
        using var resnet = new InferenceSession(Path.Combine(dir, "ResNet18Onnx", "ResNet18.onnx"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var trainFeatures = Features(prep, resnet, trainPixels);
        var testFeatures = Features(prep, resnet, testPixels);
        var featureSeconds = clock.Elapsed.TotalSeconds;
        options.Log.WriteLine($"ResNet18 features of {trainPixels.Count + testPixels.Count} images in {featureSeconds:F0}s");

        var epochs = options.Epochs ?? (options.Quick ? 5 : 40);
        var labels = DataArray.Vector(trainLabels);
        var testY = DataArray.Vector(testLabels);
        var (history, eval, t1) = Common.Fit(Head(512, "resnet_head"), new InMemoryDataset(DataArray.Create(trainFeatures, trainPixels.Count, 512), labels),
            new InMemoryDataset(DataArray.Create(testFeatures, testPixels.Count, 512), testY), options, epochs, 32, 1e-3, "sparse_categorical_crossentropy", ["accuracy"]);
        t1.Dispose();
        var (rawHistory, rawEval, t2) = Common.Fit(Head(784, "pixel_head"), new InMemoryDataset(Raw(trainPixels), labels),
            new InMemoryDataset(Raw(testPixels), testY), options, epochs, 32, 1e-3, "sparse_categorical_crossentropy", ["accuracy"]);
        t2.Dispose();
        var plot = Common.PlotPath(options, "resnet_transfer.png");
        var x = history.Epochs.Select(e => e + 1.0).ToArray();
        HistoryPlot.Save([
            new HistoryPlot.Panel("training loss", "epoch", [
                new("ResNet18 features", x, history["loss"].ToArray(), ScottPlot.Colors.SteelBlue, false),
                new("raw pixels", x, rawHistory["loss"].ToArray(), ScottPlot.Colors.DarkOrange, true)]),
            new HistoryPlot.Panel("training accuracy", "epoch", [
                new("ResNet18 features", x, history["accuracy"].ToArray(), ScottPlot.Colors.SteelBlue, false),
                new("raw pixels", x, rawHistory["accuracy"].ToArray(), ScottPlot.Colors.DarkOrange, true)]),
        ], plot);
        var metrics = new Dictionary<string, double>(eval) { ["feature_seconds"] = featureSeconds };
        return new AppResult("resnet-transfer", history["loss"], metrics,
            new Dictionary<string, double> { ["raw_pixel_accuracy"] = rawEval["accuracy"], ["raw_pixel_loss"] = rawEval["loss"] }, plot);
    }

    private static Graph.Models.Model Head(int inputs, string name) => Common.Json($$$"""
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

    private static float[] Features(InferenceSession prep, InferenceSession resnet, List<byte[]> images)
    {
        var result = new float[images.Count * 512];
        var input = new DenseTensor<float>([1, 3, 224, 224]);
        for (var n = 0; n < images.Count; n++)
        {
            Upsample(images[n], input.Buffer.Span);
            using var prepped = prep.Run([NamedOnnxValue.CreateFromTensor(prep.InputMetadata.Keys.Single(), input)]);
            using var features = resnet.Run([NamedOnnxValue.CreateFromTensor(resnet.InputMetadata.Keys.Single(), prepped.First().AsTensor<float>())]);
            features.First().AsTensor<float>().ToArray().CopyTo(result, n * 512);
        }
        return result;
    }

    /// <summary>28×28 → 224×224 bilinear (pixel centres aligned, edges clamped), the grey value in all three channels.</summary>
    private static void Upsample(byte[] image, Span<float> chw)
    {
        const int src = 28, dst = 224;
        const float ratio = (float)src / dst;
        for (var oy = 0; oy < dst; oy++)
        {
            var fy = Math.Clamp((oy + 0.5f) * ratio - 0.5f, 0, src - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, src - 1);
            var wy = fy - y0;
            for (var ox = 0; ox < dst; ox++)
            {
                var fx = Math.Clamp((ox + 0.5f) * ratio - 0.5f, 0, src - 1);
                int x0 = (int)fx, x1 = Math.Min(x0 + 1, src - 1);
                var wx = fx - x0;
                var v = (1 - wy) * ((1 - wx) * image[y0 * src + x0] + wx * image[y0 * src + x1]) + wy * ((1 - wx) * image[y1 * src + x0] + wx * image[y1 * src + x1]);
                for (var c = 0; c < 3; c++) chw[c * dst * dst + oy * dst + ox] = v;
            }
        }
    }
}
