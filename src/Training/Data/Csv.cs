using System.Globalization;
using System.Text;

namespace NeuralService.Training.Data;

/// <summary>How to read a numeric CSV file into features and a label.</summary>
public sealed record CsvOptions
{
    public char Delimiter { get; init; } = ',';

    /// <summary>Whether the first line names the columns.</summary>
    public bool HasHeader { get; init; } = true;

    /// <summary>Label column by header name; takes precedence over <see cref="LabelIndex"/>.</summary>
    public string? LabelColumn { get; init; }

    /// <summary>Label column by 0-based index (negative counts from the end); null with no <see cref="LabelColumn"/> = no label.</summary>
    public int? LabelIndex { get; init; }

    /// <summary>Feature columns by header name; null = every column except the label.</summary>
    public IReadOnlyList<string>? FeatureColumns { get; init; }

    /// <summary>Label element type: Int64 for class ids (must be whole numbers), Float32 for regression targets.</summary>
    public DType LabelType { get; init; } = DType.Float32;
}

/// <summary>
/// A CSV reader (RFC 4180 quoting: fields in double quotes may contain the delimiter and doubled quotes) that reads
/// one record at a time and reports 1-based line numbers for errors. Numbers use the invariant culture.
/// </summary>
public static class Csv
{
    /// <summary>Records of <paramref name="reader"/> with their line numbers; blank lines are skipped.</summary>
    /// <remarks><paramref name="firstLine"/> is the number of the reader's next line (after a header already read).</remarks>
    public static IEnumerable<(long Line, string[] Fields)> Records(TextReader reader, char delimiter = ',', string name = "<csv>", long firstLine = 1)
    {
        long lineNo = firstLine - 1;
        string? line;
        var fields = new List<string>();
        var sb = new StringBuilder();
        while ((line = reader.ReadLine()) is not null)
        {
            lineNo++;
            if (lineNo == 1 && line.Length > 0 && line[0] == '\uFEFF') line = line[1..];
            if (line.Length == 0) continue;
            fields.Clear();
            sb.Clear();
            bool quoted = false;
            for (int i = 0; i < line.Length; i++)
            {
                char c = line[i];
                if (quoted)
                {
                    if (c == '"')
                    {
                        if (i + 1 < line.Length && line[i + 1] == '"') { sb.Append('"'); i++; }
                        else quoted = false;
                    }
                    else sb.Append(c);
                }
                else if (c == '"' && sb.Length == 0) quoted = true;
                else if (c == delimiter) { fields.Add(sb.ToString()); sb.Clear(); }
                else sb.Append(c);
            }
            if (quoted) throw DataFormatException.At(name, lineNo, "unterminated quoted field");
            fields.Add(sb.ToString());
            yield return (lineNo, fields.ToArray());
        }
    }

    /// <summary>Parses a number with the invariant culture, naming the place on failure.</summary>
    public static double ParseNumber(string text, string file, long line, string column)
    {
        if (double.TryParse(text.AsSpan().Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var v)) return v;
        throw DataFormatException.At(file, line, $"column '{column}': '{text}' is not a number");
    }

    /// <summary>Loads a numeric CSV fully: features float32 [n, f], labels per <see cref="CsvOptions.LabelType"/>.</summary>
    public static InMemoryDataset Load(string path, CsvOptions? options = null)
    {
        options ??= new CsvOptions();
        using var reader = new StreamReader(path);
        var schema = CsvSchema.Resolve(reader, path, options);
        var xs = new List<float>();
        var ys = new List<double>();
        int n = 0;
        foreach (var (line, fields) in Records(reader, options.Delimiter, path, schema.FirstDataLine))
        {
            var (x, y) = schema.Parse(fields, line);
            xs.AddRange(x);
            ys.Add(y);
            n++;
        }
        var features = DataArray.Create(xs.ToArray(), n, schema.FeatureIndices.Length);
        if (schema.LabelIndex is null) return new InMemoryDataset(features);
        var labels = options.LabelType == DType.Int64
            ? DataArray.Vector(ys.Select(v => (long)v).ToArray())
            : DataArray.Vector(ys.Select(v => (float)v).ToArray());
        return new InMemoryDataset(features, labels);
    }
}

/// <summary>Column layout resolved from the header and options.</summary>
internal sealed class CsvSchema
{
    private readonly string _file;
    private readonly int _columns;
    private readonly string[] _names;
    private readonly DType _labelType;

    private CsvSchema(string file, string[] names, int[] features, int? label, DType labelType, long firstDataLine)
    {
        FirstDataLine = firstDataLine;
        _file = file;
        _names = names;
        _columns = names.Length;
        FeatureIndices = features;
        LabelIndex = label;
        _labelType = labelType;
    }

    public int[] FeatureIndices { get; }

    /// <summary>Line number of the line after the header (1 without a header).</summary>
    public long FirstDataLine { get; }

    public int? LabelIndex { get; }

    /// <summary>Reads the header (or peeks the first record for its width) and picks feature and label columns.</summary>
    public static CsvSchema Resolve(TextReader reader, string file, CsvOptions options)
    {
        string[] names;
        long firstDataLine = 1;
        if (options.HasHeader)
        {
            var header = Csv.Records(reader, options.Delimiter, file).FirstOrDefault();
            names = header.Fields ?? throw new DataFormatException($"{file}: empty file, expected a header line");
            firstDataLine = header.Line + 1;
            names = names.Select(s => s.Trim()).ToArray();
        }
        else
        {
            if (options.LabelColumn is not null || options.FeatureColumns is not null)
                throw new ArgumentException("columns can be named only when the CSV has a header");
            // Without a header the width comes from the first record; peeking needs a seekable reader, so count on a copy of the line.
            if (reader is not StreamReader sr || !sr.BaseStream.CanSeek)
                throw new ArgumentException("a header-less CSV must be read from a seekable file");
            long pos = sr.BaseStream.Position;
            var first = Csv.Records(reader, options.Delimiter, file).FirstOrDefault();
            int width = first.Fields?.Length ?? 0;
            sr.BaseStream.Position = pos;
            sr.DiscardBufferedData();
            names = Enumerable.Range(0, width).Select(i => $"column {i}").ToArray();
        }

        int? label = null;
        if (options.LabelColumn is not null)
        {
            int k = Array.IndexOf(names, options.LabelColumn);
            if (k < 0) throw new DataFormatException($"{file}: label column '{options.LabelColumn}' is not in the header ({string.Join(", ", names)})");
            label = k;
        }
        else if (options.LabelIndex is int li)
        {
            int k = li < 0 ? names.Length + li : li;
            if (k < 0 || k >= names.Length) throw new DataFormatException($"{file}: label index {li} is outside the {names.Length} columns");
            label = k;
        }

        int[] features;
        if (options.FeatureColumns is not null)
        {
            features = options.FeatureColumns.Select(c =>
            {
                int k = Array.IndexOf(names, c);
                return k >= 0 ? k : throw new DataFormatException($"{file}: feature column '{c}' is not in the header ({string.Join(", ", names)})");
            }).ToArray();
        }
        else
        {
            features = Enumerable.Range(0, names.Length).Where(i => i != label).ToArray();
        }
        return new CsvSchema(file, names, features, label, options.LabelType, firstDataLine);
    }

    public (float[] X, double Y) Parse(string[] fields, long line)
    {
        if (fields.Length != _columns)
            throw DataFormatException.At(_file, line, $"{fields.Length} fields, expected {_columns}");
        var x = new float[FeatureIndices.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int k = FeatureIndices[i];
            x[i] = (float)Csv.ParseNumber(fields[k], _file, line, _names[k]);
        }
        double y = double.NaN;
        if (LabelIndex is int l)
        {
            y = Csv.ParseNumber(fields[l], _file, line, _names[l]);
            if (_labelType == DType.Int64 && y != Math.Floor(y))
                throw DataFormatException.At(_file, line, $"column '{_names[l]}': class label '{fields[l]}' is not a whole number");
        }
        return (x, y);
    }
}
