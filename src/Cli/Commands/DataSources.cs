using System.Globalization;
using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Training.Data;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Cli.Commands;

/// <summary>A loaded <c>--data</c> argument: samples shaped for the model and the preprocessing applied to them.</summary>
internal sealed record LoadedData(InMemoryDataset Data, float Scale, IReadOnlyList<string>? ClassNames);

/// <summary>What <c>--data</c> accepts: <c>fashion-mnist</c>, <c>fashion-mnist:test</c>, a CSV file (label column last,
/// or <c>--label</c>), an NPZ file (<c>x</c>/<c>y</c> arrays, or Keras's <c>mnist.npz</c> with <c>:train</c>/<c>:test</c>),
/// an IDX pair <c>images,labels</c>, or an NPY file of features (predict only).</summary>
internal static class DataSources
{
    public const string Help = "fashion-mnist, fashion-mnist:test, a CSV file, an NPZ file (x/y, or mnist.npz[:test]), an IDX pair images,labels, an image folder (a sub-folder per class), or (predict) an NPY file of features or one image file";

    /// <summary>Loads <paramref name="spec"/>, scales 8-bit pixels by 1/255 (Keras's usual preprocessing) unless
    /// <paramref name="scale"/> is given, keeps the first <paramref name="limit"/> samples and reshapes features to the
    /// model's input shape.</summary>
    public static LoadedData Load(string spec, Model model, string? label = null, int? limit = null, float? scale = null, bool needLabels = true,
        string? builtinDirectory = null)
    {
        var data = Read(spec, label, model, builtinDirectory);
        if (limit is { } n && n < data.Count) data = data.Take(Enumerable.Range(0, n).ToArray());
        if (needLabels && data.Labels is null) throw new InvalidDataException($"dataset '{spec}' has no labels");
        var s = scale ?? (data.Features.DType == DType.UInt8 ? 1f / 255f : 1f);
        var input = model.Inputs.Single();
        var features = data.Features;
        if (input.DType == DataType.Float)
        {
            var floats = features.ToFloat32();
            if (s != 1f) for (var i = 0; i < floats.Length; i++) floats[i] *= s;
            features = DataArray.Create(floats, [.. features.Shape]);
        }
        else features = features.Cast(DType.Int64);
        var dims = input.Shape.Dims.Skip(1).ToList();
        if (dims.All(d => d.IsKnown))
        {
            var sample = dims.Select(d => (int)d.Known).ToArray();
            if (sample.Aggregate(1L, (p, d) => p * d) != features.SampleSize)
                throw new InvalidDataException($"dataset '{spec}' has samples of shape [{string.Join(",", features.SampleShape)}]; the model's input '{input.Layer.Name}' needs [{string.Join(",", sample)}]");
            features = features.Reshape([features.Count, .. sample]);
        }
        return new LoadedData(new InMemoryDataset(features, data.Labels, data.SampleWeights, data.ClassNames), s, data.ClassNames);
    }

    private static InMemoryDataset Read(string spec, string? label, Model model, string? builtinDirectory)
    {
        if (spec.StartsWith("fashion-mnist", StringComparison.Ordinal))
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
            var (h, w, mode) = ImageGeometry(model, spec);
            var folder = ImageFolder.Load(spec, h, w, mode);
            return new InMemoryDataset(ToBytes(folder.Features), folder.Labels, classNames: folder.ClassNames);
        }
        if (ImageFolder.DefaultExtensions.Contains(ext))
        {
            var (h, w, mode) = ImageGeometry(model, spec);
            var pixels = new float[h * w * (mode == ColorMode.Rgb ? 3 : 1)];
            ImageFolder.DecodeInto(Existing(path), h, w, mode, pixels);
            return new InMemoryDataset(ToBytes(DataArray.Create(pixels, 1, pixels.Length)));
        }
        switch (ext)
        {
            case ".csv":
            {
                var classifier = IsClassifier(model);
                var options = new CsvOptions { LabelColumn = label, LabelIndex = label is null ? -1 : null, LabelType = classifier ? DType.Int64 : DType.Float32 };
                return Csv.Load(Existing(path), options);
            }
            case ".npz":
            {
                var arrays = Npz.Read(Existing(path));
                if (arrays.ContainsKey("x_train"))
                {
                    var (train, test) = KerasDatasets.LoadMnist(path);
                    return part is "test" ? test : train;
                }
                var x = arrays.TryGetValue("x", out var xa) ? xa : throw new InvalidDataException($"{path} has neither 'x' nor 'x_train' (arrays: {string.Join(", ", arrays.Keys)})");
                return new InMemoryDataset(x, arrays.GetValueOrDefault("y"));
            }
            case ".npy":
                return new InMemoryDataset(Npy.Read(Existing(path)));
            default:
                throw new InvalidDataException($"unknown dataset '{spec}': expected {Help}");
        }
    }

    /// <summary>Height, width and colour mode of an image input ([h, w] or [h, w, 1|3], channels last).</summary>
    private static (int H, int W, ColorMode Mode) ImageGeometry(Model model, string spec)
    {
        var dims = model.Inputs.Single().Shape.Dims.Skip(1).ToList();
        if (dims.Count is < 2 or > 3 || !dims.All(d => d.IsKnown) || (dims.Count == 3 && dims[2].Known is not (1 or 3)))
            throw new InvalidDataException($"'{spec}' holds images but the model's input is not [height, width(, 1|3)]");
        return ((int)dims[0].Known, (int)dims[1].Known, dims.Count == 3 && dims[2].Known == 3 ? ColorMode.Rgb : ColorMode.Grayscale);
    }

    /// <summary>Decoded pixels (0..255 floats) as 8-bit values, so images get the same 1/255 scaling as IDX data.</summary>
    private static DataArray ToBytes(DataArray pixels) =>
        DataArray.Create(pixels.ToFloat32().Select(v => (byte)Math.Clamp(MathF.Round(v), 0, 255)).ToArray(), [.. pixels.Shape]);

    /// <summary>A softmax/multi-unit output is read as a classifier (integer labels); one unit as regression unless it ends in a sigmoid.</summary>
    public static bool IsClassifier(Model model)
    {
        var width = OutputWidth(model);
        return width > 1 || LastActivation(model) == "sigmoid";
    }

    public static int OutputWidth(Model model)
    {
        var last = model.Outputs.Single().Shape.Dims[^1];
        return last.IsKnown ? (int)last.Known : 1;
    }

    private static string? LastActivation(Model model)
    {
        return model.Layers[^1].Config is DenseConfig d ? d.Activation : null;
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
