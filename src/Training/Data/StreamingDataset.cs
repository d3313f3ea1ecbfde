namespace NeuralService.Training.Data;

/// <summary>One sample read from a stream: float features and an optional scalar label.</summary>
public readonly record struct Sample(float[] Features, double Label = double.NaN);

/// <summary>
/// A dataset read sample by sample from a source larger than memory (files), assembled into batches as it goes.
/// At most <c>ShuffleBuffer + BatchSize</c> samples are held at once: shuffling uses a tf.data-style buffer
/// (fill it, emit a random element, refill its slot), seeded by (seed, epoch).
/// </summary>
public abstract class StreamingDataset : IDataset
{
    private int _held;

    protected StreamingDataset(int batchSize, int shuffleBuffer, int seed, DType labelType)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive");
        if (shuffleBuffer < 0) throw new ArgumentOutOfRangeException(nameof(shuffleBuffer), shuffleBuffer, "shuffle buffer must be >= 0");
        if (labelType is not (DType.Float32 or DType.Int64))
            throw new ArgumentOutOfRangeException(nameof(labelType), labelType, "label type must be Float32 or Int64");
        BatchSize = batchSize;
        ShuffleBuffer = shuffleBuffer;
        Seed = seed;
        LabelType = labelType;
    }

    public int BatchSize { get; }

    /// <summary>Samples kept for shuffling; 0 reads in file order.</summary>
    public int ShuffleBuffer { get; }

    public int Seed { get; }

    public DType LabelType { get; }

    public abstract IReadOnlyList<int> FeatureShape { get; }

    /// <summary>Whether samples carry labels (the batches then have a label array).</summary>
    protected abstract bool HasLabels { get; }

    /// <summary>Samples in file order; readers open their files here and close them when enumeration ends.</summary>
    protected abstract IEnumerable<Sample> ReadSamples();

    public virtual int? BatchCount => null;

    /// <summary>The most samples this dataset has held in memory at once (shuffle buffer plus batch being built).</summary>
    public int PeakHeldSamples { get; private set; }

    public IEnumerable<Batch> GetBatches(int epoch = 0)
    {
        var pending = new List<Sample>(BatchSize);
        foreach (var s in Ordered(epoch))
        {
            pending.Add(s);
            Hold(+1);
            if (pending.Count == BatchSize)
            {
                var batch = Assemble(pending);
                Hold(-pending.Count);
                pending.Clear();
                yield return batch;
            }
        }
        if (pending.Count > 0)
        {
            var batch = Assemble(pending);
            Hold(-pending.Count);
            yield return batch;
        }
    }

    private IEnumerable<Sample> Ordered(int epoch)
    {
        if (ShuffleBuffer <= 1)
        {
            foreach (var s in ReadSamples()) yield return s;
            yield break;
        }
        var rng = new Random(DatasetExtensions.EpochSeed(Seed, epoch));
        var buffer = new List<Sample>(ShuffleBuffer);
        try
        {
            foreach (var s in ReadSamples())
            {
                if (buffer.Count < ShuffleBuffer)
                {
                    buffer.Add(s);
                    Hold(+1);
                    continue;
                }
                int k = rng.Next(buffer.Count);
                var pick = buffer[k];
                buffer[k] = s;
                yield return pick;
            }
            while (buffer.Count > 0)
            {
                int k = rng.Next(buffer.Count);
                var pick = buffer[k];
                buffer[k] = buffer[^1];
                buffer.RemoveAt(buffer.Count - 1);
                Hold(-1);
                yield return pick;
            }
        }
        finally
        {
            Hold(-buffer.Count);
        }
    }

    private void Hold(int delta)
    {
        _held += delta;
        if (_held > PeakHeldSamples) PeakHeldSamples = _held;
    }

    private Batch Assemble(List<Sample> samples)
    {
        int size = 1;
        foreach (var d in FeatureShape) size *= d;
        var x = new float[samples.Count * size];
        for (int i = 0; i < samples.Count; i++)
        {
            if (samples[i].Features.Length != size)
                throw new DataFormatException($"sample has {samples[i].Features.Length} features, expected {size}");
            samples[i].Features.CopyTo(x, i * size);
        }
        var shape = new int[FeatureShape.Count + 1];
        shape[0] = samples.Count;
        for (int i = 0; i < FeatureShape.Count; i++) shape[i + 1] = FeatureShape[i];
        var features = new DataArray(x, DType.Float32, shape);
        if (!HasLabels) return new Batch(features);
        DataArray labels;
        if (LabelType == DType.Int64)
        {
            var y = new long[samples.Count];
            for (int i = 0; i < y.Length; i++) y[i] = (long)samples[i].Label;
            labels = DataArray.Vector(y);
        }
        else
        {
            var y = new float[samples.Count];
            for (int i = 0; i < y.Length; i++) y[i] = (float)samples[i].Label;
            labels = DataArray.Vector(y);
        }
        return new Batch(features, labels);
    }
}
