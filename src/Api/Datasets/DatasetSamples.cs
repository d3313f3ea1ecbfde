using System.Buffers.Binary;
using NeuralService.Api.Errors;
using NeuralService.Training.Data;

namespace NeuralService.Api.Datasets;

/// <summary>One sample of a dataset: its first feature array's values (flat, row-major, as stored: 0–255 for 8-bit
/// images) with the sample's shape and element type, and its label (a number, or the values of a vector target) with the
/// class name when the dataset names its classes.</summary>
public sealed record DatasetSample(string Dataset, int Index, int Samples, IReadOnlyList<int> Shape, string Datatype,
    double[] Values, object? Label, string? LabelName, IReadOnlyList<string>? ClassNames);

public sealed partial class DatasetStore
{
    /// <summary>Values an upload may hold and still be kept for the next sample request (see <see cref="SampleSource"/>).</summary>
    public const long SampleCacheBytes = 64L << 20;

    private readonly Lock _sampleLock = new();
    private (string Id, InMemoryDataset Data)? _sampled;

    /// <summary>Sample <paramref name="index"/> of a dataset (404 beyond its end). A built-in's IDX files are read up to the
    /// sample only, not loaded whole; an upload (bounded by the upload limits) is loaded, and kept for the next request.</summary>
    public DatasetSample Sample(string reference, int index)
    {
        var info = Get(reference);
        if (index < 0 || index >= info.Samples)
            throw ApiException.NotFound($"dataset '{info.Name}' has samples 0 to {info.Samples - 1}; there is no sample {index}");
        DataArray x;
        DataArray? y;
        IReadOnlyList<string>? classes;
        if (info.Builtin)
        {
            var (images, labels) = BuiltinDatasets.Files(info.Name, _builtinDirectory);
            x = ReadIdxSample(images, index);
            y = ReadIdxSample(labels, index);
            classes = info.Name.StartsWith("mnist", StringComparison.Ordinal) ? BuiltinDatasets.MnistClasses : BuiltinDatasets.FashionMnistClasses;
        }
        else
        {
            var data = SampleSource(info);
            x = data.Inputs[0].Slice(index, 1);
            y = data.Targets?[0].Slice(index, 1);
            classes = data.ClassNames;
        }
        object? label = null;
        string? name = null;
        if (y is not null)
        {
            var values = Enumerable.Range(0, (int)y.Length).Select(i => y.GetDouble(i)).ToArray();
            label = values.Length == 1 ? values[0] : values;
            if (values.Length == 1 && classes is not null && values[0] == Math.Floor(values[0]) && values[0] >= 0 && values[0] < classes.Count)
                name = classes[(int)values[0]];
        }
        return new DatasetSample(info.Id, index, info.Samples, x.SampleShape, x.DType.ToString().ToLowerInvariant(),
            Enumerable.Range(0, (int)x.Length).Select(i => x.GetDouble(i)).ToArray(), label, name, classes);
    }

    /// <summary>The upload's data, parsed once for a run of sample requests (a page stepping through samples asks for them
    /// one by one): the last upload read is kept when it holds at most <see cref="SampleCacheBytes"/> of values. An upload
    /// never changes under its id, and a deleted one is refused by its lookup before this is reached.</summary>
    private InMemoryDataset SampleSource(DatasetInfo info)
    {
        lock (_sampleLock)
            if (_sampled is { } kept && kept.Id == info.Id) return kept.Data;
        var data = Load(info);
        long Bytes(DataArrays? arrays) => arrays?.Sum(a => a.Length * DTypes.Size(a.DType)) ?? 0;
        var bytes = Bytes(data.Inputs) + Bytes(data.Targets);
        if (bytes <= SampleCacheBytes)
            lock (_sampleLock) _sampled = (info.Id, data);
        return data;
    }

    /// <summary>Drops the kept sample source of a deleted upload, so its memory goes with it.</summary>
    private void ForgetSampled(string id)
    {
        lock (_sampleLock)
            if (_sampled is { } kept && kept.Id == id) _sampled = null;
    }

    /// <summary>One sample of an IDX file, read by skipping the samples before it: the header is rewritten for one sample
    /// and the bytes handed to the IDX reader, which does the byte order.</summary>
    private static DataArray ReadIdxSample(string path, int index)
    {
        using var s = Idx.OpenRead(path);
        var header = Idx.ReadHeader(s, path);
        var bytes = (long)header.SampleSize * DTypes.Size(header.DType);
        var skip = bytes * index;
        var buffer = new byte[Math.Max(1, (int)Math.Min(bytes, 1 << 16))];
        while (skip > 0)
        {
            var n = s.Read(buffer, 0, (int)Math.Min(buffer.Length, skip));
            if (n == 0) throw new DataFormatException($"{Path.GetFileName(path)} ends before sample {index}");
            skip -= n;
        }
        using var one = new MemoryStream();
        one.Write([0, 0, IdxTypeCode(header.DType), (byte)header.Shape.Length]);
        Span<byte> dim = stackalloc byte[4];
        for (var i = 0; i < header.Shape.Length; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(dim, i == 0 ? 1 : header.Shape[i]);
            one.Write(dim);
        }
        var sample = new byte[bytes];
        s.ReadExactly(sample);
        one.Write(sample);
        one.Position = 0;
        return Idx.Read(one, path);
    }

    private static byte IdxTypeCode(DType t) => Idx.TypeCode(t) ?? throw new DataFormatException($"IDX has no element type {t}");
}
