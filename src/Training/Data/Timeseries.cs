namespace NeuralService.Training.Data;

/// <summary>
/// Keras's <c>timeseries_dataset_from_array</c>. Over <c>data[startIndex:endIndex]</c> (rows = time steps),
/// window i starts at p = i·<c>sequenceStride</c> and holds rows p, p+r, …, p+(L−1)·r (r = <c>samplingRate</c>,
/// L = <c>sequenceLength</c>); its target is <c>targets[startIndex + p]</c>. There are
/// <c>endIndex − startIndex − (L−1)·r</c> candidate starts (no more than there are targets). To predict the value
/// k steps after a window, pass <c>targets = data[L−1+k:]</c> (Keras's recipe: <c>targets=data[L:]</c> for the next step).
/// Windows are gathered per batch, so the windowed copy of the series is never materialised.
/// </summary>
public sealed class TimeseriesDataset : IDataset
{
    private readonly DataArray _data;
    private readonly DataArray? _targets;
    private readonly int[] _starts;
    private readonly int[] _featureShape;

    public TimeseriesDataset(DataArray data, DataArray? targets, int sequenceLength, int sequenceStride = 1, int samplingRate = 1,
        int batchSize = 128, bool shuffle = false, int seed = 0, int startIndex = 0, int? endIndex = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (sequenceLength <= 0) throw new ArgumentOutOfRangeException(nameof(sequenceLength), sequenceLength, "sequence_length must be positive");
        if (sequenceStride <= 0) throw new ArgumentOutOfRangeException(nameof(sequenceStride), sequenceStride, "sequence_stride must be positive");
        if (samplingRate <= 0) throw new ArgumentOutOfRangeException(nameof(samplingRate), samplingRate, "sampling_rate must be positive");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch_size must be positive");
        int end = endIndex ?? data.Count;
        if (startIndex < 0 || startIndex >= data.Count) throw new ArgumentOutOfRangeException(nameof(startIndex), startIndex, $"start_index must be in 0..{data.Count - 1}");
        if (end <= startIndex || end > data.Count) throw new ArgumentOutOfRangeException(nameof(endIndex), endIndex, $"end_index must be in {startIndex + 1}..{data.Count}");
        long numSeqs = end - startIndex - (long)(sequenceLength - 1) * samplingRate;
        // Keras caps at len(targets); window p's target is targets[startIndex + p], so the cap here is len(targets) − startIndex.
        if (targets is not null) numSeqs = Math.Min(numSeqs, targets.Count - startIndex);
        numSeqs = Math.Max(0, numSeqs);
        _starts = new int[(numSeqs + sequenceStride - 1) / sequenceStride];
        for (int i = 0; i < _starts.Length; i++) _starts[i] = i * sequenceStride;
        _data = data;
        _targets = targets;
        SequenceLength = sequenceLength;
        SamplingRate = samplingRate;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        StartIndex = startIndex;
        _featureShape = [sequenceLength, .. data.SampleShape];
    }

    public int SequenceLength { get; }

    public int SamplingRate { get; }

    public int BatchSize { get; }

    public bool Shuffle { get; }

    public int Seed { get; }

    public int StartIndex { get; }

    /// <summary>Number of windows.</summary>
    public int Count => _starts.Length;

    /// <summary>Start offsets (relative to startIndex) of the windows, in file order.</summary>
    public IReadOnlyList<int> Starts => _starts;

    public IReadOnlyList<int> FeatureShape => _featureShape;

    public int? BatchCount => (_starts.Length + BatchSize - 1) / BatchSize;

    public IEnumerable<Batch> GetBatches(int epoch = 0)
    {
        var order = (int[])_starts.Clone();
        if (Shuffle) DatasetExtensions.Shuffle(order, new Random(DatasetExtensions.EpochSeed(Seed, epoch)));
        for (int b = 0; b < order.Length; b += BatchSize)
        {
            int n = Math.Min(BatchSize, order.Length - b);
            var rows = new int[n * SequenceLength];
            var targetRows = new int[n];
            for (int i = 0; i < n; i++)
            {
                int p = StartIndex + order[b + i];
                for (int j = 0; j < SequenceLength; j++) rows[i * SequenceLength + j] = p + j * SamplingRate;
                targetRows[i] = p;
            }
            var x = _data.Take(rows).Reshape([n, .. _featureShape]);
            yield return new Batch(x, _targets?.Take(targetRows));
        }
    }
}
