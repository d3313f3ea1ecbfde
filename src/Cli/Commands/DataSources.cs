using System.Globalization;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Training.Data;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Cli.Commands;

/// <summary>A loaded <c>--data</c> argument: samples shaped for the model, in their stored element types (8-bit data
/// stays bytes: the model's <see cref="NeuralService.Training.PreprocessingContract"/> scales it, in the trainer and in
/// the exported graph).</summary>
internal sealed record LoadedData(InMemoryDataset Data, IReadOnlyList<string>? ClassNames);

/// <summary>One model input as data loading sees it: name, element type and the dims after the batch dim (null where
/// open). From a Keras model or from an ONNX signature, so <c>predict</c> needs no Keras config.</summary>
internal sealed record FeatureInput(string Name, DataType DType, IReadOnlyList<long?> SampleDims)
{
    public static IReadOnlyList<FeatureInput> Of(Model model) => model.Inputs.Select((t, i) =>
        new FeatureInput(model.InputNames[i], t.DType, t.Shape.Dims.Skip(1).Select(d => d.IsKnown ? d.Known : (long?)null).ToList())).ToList();
}

/// <summary>What <c>--data</c> accepts: <c>fashion-mnist</c>, <c>fashion-mnist:test</c>, <c>mnist</c>, <c>mnist:test</c>, a CSV file (label column last,
/// or <c>--label</c>), an NPZ file (<c>x</c>/<c>y</c>, <c>x0 x1 …</c>/<c>y0 y1 …</c> by order, <c>x_&lt;input&gt;</c>/<c>y_&lt;output&gt;</c>
/// by name, or Keras's <c>mnist.npz</c> with <c>:train</c>/<c>:test</c>), an IDX pair <c>images,labels</c>, or an NPY
/// file of features (predict only).</summary>
internal static class DataSources
{
    public const string Help = "fashion-mnist, fashion-mnist:test, mnist, mnist:test (real MNIST digits, 7996/2004), a CSV file, an NPZ file (x/y; x0 x1 …/y0 y1 … by order or x_<input>/y_<output> by name for several inputs/outputs; or mnist.npz[:test]), an IDX pair images,labels, an image folder (a sub-folder per class), or (predict) an NPY file of features or one image file";

    /// <summary>Loads <paramref name="spec"/>, matches its arrays to the model's inputs and outputs, keeps the first
    /// <paramref name="limit"/> samples and reshapes each feature array to its input's shape. The result holds one
    /// array per input and (with labels) per output, in the model's order; values are not scaled here (the trainer
    /// applies the model's preprocessing contract: 1/255 for 8-bit data unless <c>--rescale</c> says otherwise).</summary>
    public static LoadedData Load(string spec, Model model, string? label = null, int? limit = null, bool needLabels = true,
        string? builtinDirectory = null)
    {
        var data = Read(spec, label, FeatureInput.Of(model), IsClassifier(model), builtinDirectory);
        return Arrange(spec, data, FeatureInput.Of(model), needLabels ? model.OutputNames : null, limit);
    }

    /// <summary>The features of <paramref name="spec"/> (labels, if any, are dropped) for a model known only by its
    /// inputs, e.g. an ONNX file's signature.</summary>
    public static LoadedData LoadFeatures(string spec, IReadOnlyList<FeatureInput> inputs, string? label = null, int? limit = null) =>
        Arrange(spec, Read(spec, label, inputs, false, null), inputs, null, limit);

    /// <summary>The first label array of <paramref name="spec"/>, or null when it has none (an NPY file, one image), for
    /// plots that set predictions beside the truth.</summary>
    public static DataArray? LoadLabels(string spec, IReadOnlyList<FeatureInput> inputs, string? label, int? limit, bool classifier)
    {
        InMemoryDataset data;
        try { data = Read(spec, label, inputs, classifier, null); }
        catch (InvalidDataException) { return null; }
        if (limit is { } n && n < data.Count) data = data.Take(Enumerable.Range(0, n).ToArray());
        return data.Targets is { Count: > 0 } t ? t[0] : null;
    }

    private static LoadedData Arrange(string spec, InMemoryDataset data, IReadOnlyList<FeatureInput> inputs, IReadOnlyList<string>? outputNames, int? limit)
    {
        if (limit is { } n && n < data.Count) data = data.Take(Enumerable.Range(0, n).ToArray());
        if (outputNames is not null && data.Targets is null) throw new InvalidDataException($"dataset '{spec}' has no labels");
        IReadOnlyList<DataArray> xs;
        IReadOnlyList<DataArray>? ys = null;
        try
        {
            xs = data.Inputs.Match(inputs.Select(i => i.Name).ToList(), "input");
            if (outputNames is not null) ys = data.Targets!.Match(outputNames, "output");
        }
        catch (ArgumentException e) { throw new InvalidDataException($"dataset '{spec}': {e.Message}"); }
        var features = xs.Select((x, i) => ForInput(spec, inputs[i], x)).ToArray();
        var targets = ys is null ? null : DataArrays.Of([.. ys]);
        return new LoadedData(new InMemoryDataset(DataArrays.Of(features), targets, data.SampleWeights, data.ClassNames), data.ClassNames);
    }

    /// <summary>The array reshaped to the input's shape: integer inputs as int64, float inputs in their stored type
    /// (bytes stay bytes, so the preprocessing contract sees 8-bit data).</summary>
    private static DataArray ForInput(string spec, FeatureInput input, DataArray features)
    {
        if (input.DType != DataType.Float) features = features.Cast(DType.Int64);
        if (input.SampleDims.All(d => d is not null))
        {
            var sample = input.SampleDims.Select(d => (int)d!.Value).ToArray();
            if (sample.Aggregate(1L, (p, d) => p * d) != features.SampleSize)
                throw new InvalidDataException($"dataset '{spec}' has samples of shape [{string.Join(",", features.SampleShape)}]; the model's input '{input.Name}' needs [{string.Join(",", sample)}]");
            features = features.Reshape([features.Count, .. sample]);
        }
        return features;
    }

    private static InMemoryDataset Read(string spec, string? label, IReadOnlyList<FeatureInput> inputs, bool classifier, string? builtinDirectory)
    {
        if (spec.StartsWith("fashion-mnist", StringComparison.Ordinal) || BuiltinDatasets.IsBuiltin(spec))
        {
            try { return BuiltinDatasets.Load(spec, builtinDirectory); }
            catch (ArgumentException e) { throw new InvalidDataException(e.Message); }
        }
        if (spec.Contains(',', StringComparison.Ordinal))
        {
            var parts = spec.Split(',');
            if (parts.Length != 2) throw new InvalidDataException($"an IDX pair is 'images,labels', got '{spec}'");
            var x = Idx.Read(Existing(parts[0]));
            var y = Idx.Read(Existing(parts[1]));
            if (x.Count != y.Count) throw new InvalidDataException($"{parts[0]} has {x.Count} samples but {parts[1]} has {y.Count}");
            return new InMemoryDataset(x, y);
        }
        var (path, part) = SplitPart(spec);
        var ext = Path.GetExtension(path).ToLowerInvariant();
        if (Directory.Exists(spec))
        {
            var (h, w, mode) = ImageGeometry(inputs, spec);
            var folder = ImageFolder.Load(spec, h, w, mode);
            return new InMemoryDataset(ToBytes(folder.Features), folder.Labels, classNames: folder.ClassNames);
        }
        if (ImageFolder.DefaultExtensions.Contains(ext))
        {
            var (h, w, mode) = ImageGeometry(inputs, spec);
            var pixels = new float[h * w * (mode == ColorMode.Rgb ? 3 : 1)];
            ImageFolder.DecodeInto(Existing(path), h, w, mode, pixels);
            return new InMemoryDataset(ToBytes(DataArray.Create(pixels, 1, pixels.Length)));
        }
        switch (ext)
        {
            case ".csv":
            {
                var options = new CsvOptions { LabelColumn = label, LabelIndex = label is null ? -1 : null, LabelType = classifier ? DType.Int64 : DType.Float32 };
                return Csv.Load(Existing(path), options);
            }
            case ".npz":
            {
                var arrays = Npz.Read(Existing(path));
                if (arrays.ContainsKey("x_train") && !inputs.Any(i => i.Name == "train"))
                {
                    var (train, test) = KerasDatasets.LoadMnist(path);
                    return part is "test" ? test : train;
                }
                var x = Npz.Side(arrays, "x", path)
                    ?? throw new InvalidDataException($"{path} has no features: name them x, x0 x1 … (by input order), x_<input name> or x_train (arrays: {string.Join(", ", arrays.Keys)})");
                return new InMemoryDataset(x, Npz.Side(arrays, "y", path));
            }
            case ".npy":
                return new InMemoryDataset(Npy.Read(Existing(path)));
            default:
                throw new InvalidDataException($"unknown dataset '{spec}': expected {Help}");
        }
    }

    /// <summary>Height, width and colour mode of an image input ([h, w] or [h, w, 1|3], channels last).</summary>
    private static (int H, int W, ColorMode Mode) ImageGeometry(IReadOnlyList<FeatureInput> inputs, string spec)
    {
        var dims = inputs.Count == 1 ? inputs[0].SampleDims : [];
        if (dims.Count is < 2 or > 3 || !dims.All(d => d is not null) || (dims.Count == 3 && dims[2] is not (1 or 3)))
            throw new InvalidDataException($"'{spec}' holds images but the model's input is not [height, width(, 1|3)]");
        return ((int)dims[0]!.Value, (int)dims[1]!.Value, dims.Count == 3 && dims[2] == 3 ? ColorMode.Rgb : ColorMode.Grayscale);
    }

    /// <summary>Decoded pixels (0..255 floats) as 8-bit values, so images get the same 1/255 scaling as IDX data.</summary>
    private static DataArray ToBytes(DataArray pixels) =>
        DataArray.Create(pixels.ToFloat32().Select(v => (byte)Math.Clamp(MathF.Round(v), 0, 255)).ToArray(), [.. pixels.Shape]);

    /// <summary>An output ending in softmax or sigmoid is read as a classifier (integer labels); so is a one-output model's
    /// multi-unit output. Other outputs of a multi-output model are regressions.</summary>
    public static bool IsClassifier(Model model, int output = 0)
    {
        if (Activation(model, output) is "softmax" or "sigmoid") return true;
        return model.Outputs.Count == 1 && OutputWidth(model, output) > 1;
    }

    public static int OutputWidth(Model model, int output = 0)
    {
        var last = model.Outputs[output].Shape.Dims[^1];
        return last.IsKnown ? (int)last.Known : 1;
    }

    /// <summary>The activation that ends an output: its Dense layer's (the last layer's for a one-output model, as a
    /// Sequential's output is) or an Activation layer's.</summary>
    private static string? Activation(Model model, int output)
    {
        var layer = model.Outputs.Count == 1 ? model.Layers[^1] : model.Outputs[output].Layer;
        return layer.Config switch
        {
            DenseConfig d => d.Activation,
            ActivationConfig a => a.Activation,
            _ => null,
        };
    }

    private static (string Path, string? Part) SplitPart(string spec)
    {
        var i = spec.LastIndexOf(':');
        return i > 1 && spec[(i + 1)..] is "train" or "test" ? (spec[..i], spec[(i + 1)..]) : (spec, null);
    }

    private static string Existing(string path) =>
        File.Exists(path) ? path : throw new FileNotFoundException($"dataset file '{path}' not found", path);

    public static string Format(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
