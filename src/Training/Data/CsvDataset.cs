namespace NeuralService.Training.Data;

/// <summary>Streams a numeric CSV file line by line into batches; the file is never loaded whole.</summary>
public sealed class CsvDataset : StreamingDataset
{
    private readonly CsvOptions _options;
    private readonly int[] _featureShape;
    private readonly bool _hasLabels;

    public CsvDataset(string path, CsvOptions? options = null, int batchSize = 32, int shuffleBuffer = 0, int seed = 0)
        : base(batchSize, shuffleBuffer, seed, (options ?? new CsvOptions()).LabelType)
    {
        Path = path;
        _options = options ?? new CsvOptions();
        using var reader = new StreamReader(path);
        var schema = CsvSchema.Resolve(reader, path, _options);
        _featureShape = [schema.FeatureIndices.Length];
        _hasLabels = schema.LabelIndex is not null;
    }

    public string Path { get; }

    public override IReadOnlyList<int> FeatureShape => _featureShape;

    protected override bool HasLabels => _hasLabels;

    protected override IEnumerable<Sample> ReadSamples()
    {
        using var reader = new StreamReader(Path);
        var schema = CsvSchema.Resolve(reader, Path, _options);
        foreach (var (line, fields) in Csv.Records(reader, _options.Delimiter, Path, schema.FirstDataLine))
        {
            var (x, y) = schema.Parse(fields, line);
            yield return new Sample(x, y);
        }
    }
}
