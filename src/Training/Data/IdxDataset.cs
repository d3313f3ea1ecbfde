namespace NeuralService.Training.Data;

/// <summary>
/// Streams an IDX images file (and optionally its labels file) sample by sample: only the shuffle buffer and the
/// batch being built are in memory. Features are float32 of the stored values, optionally multiplied by <c>scale</c>.
/// </summary>
public sealed class IdxDataset : StreamingDataset
{
    private readonly int[] _featureShape;

    public IdxDataset(string imagesPath, string? labelsPath = null, int batchSize = 32, int shuffleBuffer = 0, int seed = 0, float scale = 1f)
        : base(batchSize, shuffleBuffer, seed, DType.Int64)
    {
        ImagesPath = imagesPath;
        LabelsPath = labelsPath;
        Scale = scale;
        using var s = Idx.OpenRead(imagesPath);
        var header = Idx.ReadHeader(s, imagesPath);
        _featureShape = header.Shape[1..];
        Count = header.Shape[0];
        if (labelsPath is not null)
        {
            using var l = Idx.OpenRead(labelsPath);
            var lh = Idx.ReadHeader(l, labelsPath);
            if (lh.Shape[0] != Count)
                throw new DataFormatException($"{labelsPath} has {lh.Shape[0]} labels but {imagesPath} has {Count} images");
            if (lh.Shape.Length != 1) throw new DataFormatException($"{labelsPath}: labels must be 1-D, got rank {lh.Shape.Length}");
        }
    }

    public string ImagesPath { get; }

    public string? LabelsPath { get; }

    public float Scale { get; }

    public int Count { get; }

    public override IReadOnlyList<int> FeatureShape => _featureShape;

    public override int? BatchCount => (Count + BatchSize - 1) / BatchSize;

    protected override bool HasLabels => LabelsPath is not null;

    protected override IEnumerable<Sample> ReadSamples()
    {
        using var images = Idx.OpenRead(ImagesPath);
        var h = Idx.ReadHeader(images, ImagesPath);
        using var labels = LabelsPath is null ? null : Idx.OpenRead(LabelsPath);
        Idx.Header lh = default;
        if (labels is not null) lh = Idx.ReadHeader(labels, LabelsPath!);
        int elem = DTypes.Size(h.DType);
        var raw = new byte[h.SampleSize * elem];
        var one = DataArray.Zeros(h.DType, 1, h.SampleSize);
        var labelRaw = labels is null ? [] : new byte[DTypes.Size(lh.DType)];
        var labelOne = labels is null ? null : DataArray.Zeros(lh.DType, 1);
        for (int i = 0; i < h.Shape[0]; i++)
        {
            Idx.ReadExactly(images, raw, ImagesPath, h.Shape[0]);
            Idx.SwapToLittleEndian(raw, elem);
            raw.CopyTo(one.WritableBytes());
            var x = new float[h.SampleSize];
            for (int k = 0; k < x.Length; k++) x[k] = (float)one.GetDouble(k) * Scale;
            double label = double.NaN;
            if (labels is not null)
            {
                Idx.ReadExactly(labels, labelRaw, LabelsPath!, lh.Shape[0]);
                Idx.SwapToLittleEndian(labelRaw, labelRaw.Length);
                labelRaw.CopyTo(labelOne!.WritableBytes());
                label = labelOne.GetDouble(0);
            }
            yield return new Sample(x, label);
        }
    }
}
