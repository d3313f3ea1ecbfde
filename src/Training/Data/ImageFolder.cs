using SkiaSharp;

namespace NeuralService.Training.Data;

public enum ColorMode
{
    Grayscale,
    Rgb,
}

/// <summary>
/// Keras's <c>image_dataset_from_directory</c> layout: one sub-folder per class, labels are the indices of the sorted
/// (ordinal) folder names. Images (PNG, JPEG, or anything SkiaSharp decodes) are resized bilinearly to
/// [height, width] and returned channels-last float32 in 0..255; grayscale uses 0.2989 R + 0.587 G + 0.114 B
/// (tf.image.rgb_to_grayscale).
/// </summary>
public static class ImageFolder
{
    public static readonly IReadOnlyList<string> DefaultExtensions = [".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"];

    /// <summary>Image files with their label, and the class names (index = label).</summary>
    public static (IReadOnlyList<(string File, int Label)> Files, IReadOnlyList<string> ClassNames) List(string directory)
    {
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"image folder not found: {directory}");
        var classes = Directory.GetDirectories(directory).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0) throw new DataFormatException($"{directory}: no class sub-folders (expected one folder per class)");
        var files = new List<(string, int)>();
        for (int c = 0; c < classes.Length; c++)
        {
            foreach (var f in Directory.EnumerateFiles(Path.Combine(directory, classes[c]), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                if (DefaultExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                    files.Add((f, c));
        }
        return (files, classes);
    }

    public static InMemoryDataset Load(string directory, int height, int width, ColorMode colorMode = ColorMode.Rgb)
    {
        var (files, classes) = List(directory);
        int channels = colorMode == ColorMode.Rgb ? 3 : 1;
        int size = height * width * channels;
        var x = new float[files.Count * size];
        var y = new long[files.Count];
        for (int i = 0; i < files.Count; i++)
        {
            DecodeInto(files[i].File, height, width, colorMode, x.AsSpan(i * size, size));
            y[i] = files[i].Label;
        }
        return new InMemoryDataset(DataArray.Create(x, files.Count, height, width, channels), DataArray.Vector(y), classNames: classes);
    }

    /// <summary>Decodes one image, resized and converted, into <paramref name="dst"/> (HWC order).</summary>
    public static void DecodeInto(string file, int height, int width, ColorMode colorMode, Span<float> dst)
    {
        if (height <= 0 || width <= 0) throw new ArgumentOutOfRangeException(nameof(height), $"image size {height}x{width} must be positive");
        using var decoded = SKBitmap.Decode(file) ?? throw new DataFormatException($"{file}: not a decodable image");
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        using var resized = new SKBitmap(info);
        if (!decoded.ScalePixels(resized, new SKSamplingOptions(SKFilterMode.Linear)))
            throw new DataFormatException($"{file}: could not resize to {width}x{height}");
        var px = resized.GetPixelSpan();
        int n = width * height;
        if (colorMode == ColorMode.Rgb)
        {
            for (int i = 0; i < n; i++)
            {
                dst[3 * i] = px[4 * i];
                dst[3 * i + 1] = px[4 * i + 1];
                dst[3 * i + 2] = px[4 * i + 2];
            }
        }
        else
        {
            for (int i = 0; i < n; i++)
                dst[i] = 0.2989f * px[4 * i] + 0.587f * px[4 * i + 1] + 0.114f * px[4 * i + 2];
        }
    }

    /// <summary>Saves an HWC float image (0..255) as PNG or JPEG by extension — for exports and generated test data.</summary>
    public static void Save(string file, ReadOnlySpan<float> hwc, int height, int width, int channels, int jpegQuality = 95)
    {
        if (channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(channels), channels, "channels must be 1 or 3");
        using var bmp = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var px = bmp.GetPixelSpan();
        for (int i = 0; i < width * height; i++)
        {
            for (int c = 0; c < 3; c++)
                px[4 * i + c] = (byte)Math.Clamp(MathF.Round(hwc[i * channels + (channels == 3 ? c : 0)]), 0, 255);
            px[4 * i + 3] = 255;
        }
        var format = Path.GetExtension(file).ToLowerInvariant() is ".jpg" or ".jpeg" ? SKEncodedImageFormat.Jpeg : SKEncodedImageFormat.Png;
        using var data = bmp.Encode(format, jpegQuality);
        using var fs = File.Create(file);
        data.SaveTo(fs);
    }
}

/// <summary>
/// Streams an image folder: the file list is in memory, pixels are decoded only for the batch being built.
/// Shuffling permutes the file list per epoch from (seed, epoch).
/// </summary>
public sealed class ImageFolderDataset : IDataset
{
    private readonly IReadOnlyList<(string File, int Label)> _files;
    private readonly int[] _shape;

    public ImageFolderDataset(string directory, int height, int width, ColorMode colorMode = ColorMode.Rgb, int batchSize = 32, bool shuffle = false, int seed = 0)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive");
        (_files, ClassNames) = ImageFolder.List(directory);
        ColorMode = colorMode;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        _shape = [height, width, colorMode == ColorMode.Rgb ? 3 : 1];
    }

    public IReadOnlyList<string> ClassNames { get; }

    public ColorMode ColorMode { get; }

    public int BatchSize { get; }

    public bool Shuffle { get; }

    public int Seed { get; }

    public int Count => _files.Count;

    public IReadOnlyList<int> FeatureShape => _shape;

    public int? BatchCount => (_files.Count + BatchSize - 1) / BatchSize;

    public IEnumerable<Batch> GetBatches(int epoch = 0)
    {
        var order = Enumerable.Range(0, _files.Count).ToArray();
        if (Shuffle) DatasetExtensions.Shuffle(order, new Random(DatasetExtensions.EpochSeed(Seed, epoch)));
        int size = _shape[0] * _shape[1] * _shape[2];
        for (int start = 0; start < order.Length; start += BatchSize)
        {
            int n = Math.Min(BatchSize, order.Length - start);
            var x = new float[n * size];
            var y = new long[n];
            for (int i = 0; i < n; i++)
            {
                var (file, label) = _files[order[start + i]];
                ImageFolder.DecodeInto(file, _shape[0], _shape[1], ColorMode, x.AsSpan(i * size, size));
                y[i] = label;
            }
            yield return new Batch(DataArray.Create(x, n, _shape[0], _shape[1], _shape[2]), DataArray.Vector(y));
        }
    }
}
