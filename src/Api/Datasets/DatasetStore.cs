using System.Text.Json;
using Microsoft.Extensions.Options;
using NeuralService.Api.Errors;
using NeuralService.Api.Hosting;
using NeuralService.Inference.Registry;
using NeuralService.Training.Data;

namespace NeuralService.Api.Datasets;

/// <summary>What was uploaded and how to read it back. <see cref="FeatureShape"/>/<see cref="FeatureType"/> and
/// <see cref="LabelShape"/> describe the first feature and target array; <see cref="Inputs"/> and <see cref="Targets"/>
/// list every one (an NPZ may hold several, for models with several inputs or outputs).</summary>
public sealed record DatasetInfo(
    string Id, string Name, string Format, bool Builtin, int Samples, IReadOnlyList<int> FeatureShape, string FeatureType,
    IReadOnlyList<int>? LabelShape, long SizeBytes, DateTimeOffset? CreatedAt, DatasetReadOptions? Options = null,
    string? FeaturesFile = null, string? LabelsFile = null)
{
    /// <summary>Every feature array, matched to the model's inputs by order or by name (null for built-in datasets).</summary>
    public IReadOnlyList<DatasetArray>? Inputs { get; init; }
    /// <summary>Every target array, matched to the model's outputs by order or by name (null without labels, and for built-ins).</summary>
    public IReadOnlyList<DatasetArray>? Targets { get; init; }
}

/// <summary>One array of a dataset: its name when it is matched by name (NPZ members <c>x_&lt;input&gt;</c>,
/// <c>y_&lt;output&gt;</c>), else null (matched by position); the shape of one sample; the element type.</summary>
public sealed record DatasetArray(string? Name, IReadOnlyList<int> Shape, string Type)
{
    /// <summary>The smallest and largest value and whether all are whole numbers (labels only): what a job is checked
    /// against at submit (class indices within the output's units, binary labels in [0, 1]).</summary>
    public LabelRange? Range { get; init; }
}

/// <summary>The values of a label array: smallest, largest, and whether every one is a whole number.</summary>
public sealed record LabelRange(double Min, double Max, bool Integers)
{
    public static LabelRange? Of(DataArray labels)
    {
        var values = labels.ToFloat32();
        if (values.Length == 0 || values.Any(v => !float.IsFinite(v))) return null;
        return new LabelRange(values.Min(), values.Max(), values.All(v => v == MathF.Floor(v)));
    }
}

/// <summary>How a file becomes features and labels: CSV label column (name or index, default the last column) and
/// label type; the NPZ member names (default: <c>x</c>/<c>y</c>, <c>x0 x1 …</c>/<c>y0 y1 …</c> by order,
/// <c>x_&lt;input&gt;</c>/<c>y_&lt;output&gt;</c> by name, <c>x_train</c>/<c>y_train</c>, or <c>features</c>/<c>labels</c>).</summary>
public sealed record DatasetReadOptions(string? LabelColumn = null, int? LabelIndex = null, string LabelType = "float32",
    string? FeaturesKey = null, string? LabelsKey = null, bool HasHeader = true);

/// <summary>Uploaded datasets, one folder each under <c>datasets/</c> of the data directory (the files as uploaded plus
/// <c>dataset.json</c>), and the built-in ones (<c>fashion-mnist</c>, <c>fashion-mnist:test</c> from Debian; <c>mnist</c>, <c>mnist:test</c> from scripts/datasets.sh).</summary>
public sealed partial class DatasetStore
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string _root;
    private readonly string? _builtinDirectory;
    /// <summary>Neural:MaxDecompressedBytes: what one dataset's files may expand to when read.</summary>
    private readonly long _maxBytes;

    public DatasetStore(IOptions<NeuralOptions> options, IConfiguration config)
    {
        _root = Path.Combine(options.Value.DataDirectory(), "datasets");
        _maxBytes = options.Value.MaxDecompressedBytes;
        _builtinDirectory = config["Neural:BuiltinDatasetDirectory"];
        Directory.CreateDirectory(_root);
    }

    public IReadOnlyList<DatasetInfo> List() => Builtins().Concat(Directory.EnumerateDirectories(_root)
            .Select(d => Path.Combine(d, "dataset.json")).Where(File.Exists)
            .Select(f => JsonSerializer.Deserialize<DatasetInfo>(File.ReadAllText(f), Json)!)
            .OrderBy(d => d.CreatedAt)).ToList();

    /// <summary>A dataset by id or by name (the newest upload of that name), or a built-in name. Ids are resolved
    /// first, so no name can stand in for another dataset's id (names shaped like ids are refused at upload too).</summary>
    public DatasetInfo Get(string reference)
    {
        var all = List();
        return all.FirstOrDefault(d => !d.Builtin && d.Id == reference)
            ?? all.Where(d => d.Name == reference).OrderByDescending(d => d.CreatedAt).FirstOrDefault()
            ?? throw ApiException.NotFound($"no dataset '{reference}' (built-in: {string.Join(", ", BuiltinDatasets.Names)}; or an uploaded dataset's id or name)");
    }

    /// <summary>The shape of the ids this store hands out: <c>ds-</c> and 12 hex digits.</summary>
    public static bool LooksLikeId(string s) => IdPattern().IsMatch(s);

    [System.Text.RegularExpressions.GeneratedRegex("^ds-[0-9a-f]{12}$", System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex IdPattern();

    private IEnumerable<DatasetInfo> Builtins()
    {
        foreach (var name in BuiltinDatasets.Names)
        {
            string images;
            try { images = BuiltinDatasets.Files(name, _builtinDirectory).Images; }
            catch (FileNotFoundException) { continue; }
            var header = ReadIdxHeader(images);
            yield return new DatasetInfo(name, name, "idx", true, header.Shape[0], header.Shape[1..], header.DType.ToString().ToLowerInvariant(),
                [], new FileInfo(images).Length, null);
        }
    }

    private static Idx.Header ReadIdxHeader(string path)
    {
        using var s = Idx.OpenRead(path);
        return Idx.ReadHeader(s, path);
    }

    /// <summary>Stores and checks an upload: the files are parsed once, so a broken file is refused at once.</summary>
    public async Task<DatasetInfo> AddAsync(string name, string? format, IFormFile features, IFormFile? labels, DatasetReadOptions options, CancellationToken ct)
    {
        ModelName.Check(name, "dataset name");
        if (BuiltinDatasets.Names.Contains(name)) throw ApiException.Conflict($"'{name}' is a built-in dataset name");
        if (LooksLikeId(name)) throw ApiException.BadRequest($"dataset name '{name}' has the form of a dataset id (ds- and 12 hex digits); choose another name");
        format = (format ?? FormatOf(features.FileName)).ToLowerInvariant();
        if (format is not ("csv" or "npy" or "npz" or "idx"))
            throw ApiException.BadRequest($"format '{format}' is not supported: csv, npy, npz or idx (gzip allowed for idx)");
        var id = "ds-" + Guid.NewGuid().ToString("N")[..12];
        var dir = Path.Combine(_root, id);
        Directory.CreateDirectory(dir);
        try
        {
            var featuresFile = await SaveAsync(features, dir, "features", ct);
            var labelsFile = labels is null ? null : await SaveAsync(labels, dir, "labels", ct);
            var info = new DatasetInfo(id, name, format, false, 0, [], "", null, 0, DateTimeOffset.UtcNow, options, featuresFile, labelsFile);
            var data = Load(info);
            info = info with
            {
                Samples = data.Count, FeatureShape = data.Inputs[0].SampleShape, FeatureType = TypeName(data.Inputs[0].DType),
                LabelShape = data.Targets?[0].SampleShape,
                SizeBytes = Directory.EnumerateFiles(dir).Sum(f => new FileInfo(f).Length),
                Inputs = Describe(data.Inputs),
                Targets = data.Targets is null ? null : Describe(data.Targets, ranges: true),
            };
            // dataset.json commits the upload: written aside and renamed, so a crash leaves no half-written marker
            // (a folder without one is a dead upload, removed at the next start).
            await File.WriteAllTextAsync(Path.Combine(dir, "dataset.json.tmp"), JsonSerializer.Serialize(info, Json), ct);
            File.Move(Path.Combine(dir, "dataset.json.tmp"), Path.Combine(dir, "dataset.json"));
            return info;
        }
        catch
        {
            Directory.Delete(dir, recursive: true);
            throw;
        }
    }

    public void Delete(string id)
    {
        var info = Get(id);
        if (info.Builtin) throw ApiException.Conflict($"built-in dataset '{id}' cannot be deleted");
        if (info.Id != id) throw ApiException.NotFound($"no dataset with id '{id}'");
        Directory.Delete(Path.Combine(_root, info.Id), recursive: true);
        ForgetSampled(info.Id);
    }

    /// <summary>Loads a dataset fully into memory.</summary>
    public InMemoryDataset Load(DatasetInfo info)
    {
        if (info.Builtin) return BuiltinDatasets.Load(info.Name, _builtinDirectory);
        var dir = Path.Combine(_root, info.Id);
        var f = Path.Combine(dir, info.FeaturesFile!);
        var l = info.LabelsFile is null ? null : Path.Combine(dir, info.LabelsFile);
        var o = info.Options ?? new DatasetReadOptions();
        try
        {
            switch (info.Format)
            {
                case "csv":
                    var type = o.LabelType.ToLowerInvariant() switch
                    {
                        "int64" => DType.Int64,
                        "float32" => DType.Float32,
                        var t => throw ApiException.BadRequest($"label_type '{t}' must be int64 or float32"),
                    };
                    return Csv.Load(f, new CsvOptions
                    {
                        HasHeader = o.HasHeader, LabelColumn = o.LabelColumn, LabelIndex = o.LabelColumn is null ? o.LabelIndex ?? -1 : null, LabelType = type,
                    });
                case "npy":
                {
                    var x = Npy.Read(f, _maxBytes);
                    return Pair(x, l is null ? null : Npy.Read(l, _maxBytes - x.Length * DTypes.Size(x.DType)));
                }
                case "npz":
                    return FromNpz(Npz.Read(f, _maxBytes), o, info.FeaturesFile!);
                default:
                {
                    var x = Idx.Read(f, _maxBytes);
                    return Pair(x, l is null ? null : Idx.Read(l, _maxBytes - x.Length * DTypes.Size(x.DType)));
                }
            }
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or ArgumentException or IOException and not FileNotFoundException)
        {
            throw new DataFormatException($"dataset '{info.Name}': {e.Message}");
        }
    }

    /// <summary>Features and labels of an NPZ: the members named in the options, else Keras's forms (<see cref="Npz.Side"/>:
    /// x/y, x0 x1 …, x_&lt;input&gt;), else <c>x_train</c>/<c>y_train</c> or <c>features</c>/<c>labels</c>.</summary>
    private static InMemoryDataset FromNpz(IReadOnlyDictionary<string, DataArray> arrays, DatasetReadOptions o, string file)
    {
        DataArray Member(string key) => arrays.TryGetValue(key, out var a) ? a : throw ApiException.BadRequest($"the .npz has no member '{key}'");
        // Keras's mnist.npz layout keeps its meaning (x_train is not an input named 'train').
        var kerasLayout = arrays.ContainsKey("x_train") && !arrays.ContainsKey("x");
        var x = o.FeaturesKey is { } fk ? DataArrays.Of(Member(fk))
            : kerasLayout ? DataArrays.Of(arrays["x_train"])
            : Npz.Side(arrays, "x", file) ?? (arrays.TryGetValue("features", out var features) ? DataArrays.Of(features)
                : throw ApiException.BadRequest($"the .npz has no features: name them x, x0 x1 … (by input order), x_<input name>, x_train or features (it has {string.Join(", ", arrays.Keys)}), or give features_key"));
        var y = o.LabelsKey is { } lk ? DataArrays.Of(Member(lk))
            : kerasLayout ? (arrays.TryGetValue("y_train", out var yt) ? DataArrays.Of(yt) : null)
            : Npz.Side(arrays, "y", file) ?? (arrays.TryGetValue("labels", out var labels) ? DataArrays.Of(labels) : null);
        if (y is not null && y.SampleCount != x.SampleCount) throw new DataFormatException($"{x.SampleCount} feature rows but {y.SampleCount} labels");
        return new InMemoryDataset(x, y);
    }

    /// <summary>The dataset's arrays with no samples: what a trainer checks against a model (array names, sample shapes,
    /// types) before a job is queued, without reading the files.</summary>
    public static InMemoryDataset Layout(DatasetInfo info)
    {
        static DataArray Empty(IReadOnlyList<int> shape, string type) =>
            DataArray.Zeros(Enum.TryParse<DType>(type, ignoreCase: true, out var t) ? t : DType.Float32, [0, .. shape]);
        static DataArrays Side(IReadOnlyList<DatasetArray> arrays) => arrays.All(a => a.Name is not null)
            ? DataArrays.Named(arrays.Select(a => KeyValuePair.Create(a.Name!, Empty(a.Shape, a.Type))))
            : DataArrays.Of([.. arrays.Select(a => Empty(a.Shape, a.Type))]);
        var inputs = info.Inputs is { Count: > 0 } i ? Side(i) : DataArrays.Of(Empty(info.FeatureShape, info.FeatureType));
        var targets = info.Targets is { Count: > 0 } t ? Side(t)
            : info.LabelShape is { } l ? DataArrays.Of(Empty(l, "int64"))
            : null;
        return new InMemoryDataset(inputs, targets);
    }

    private static List<DatasetArray> Describe(DataArrays arrays, bool ranges = false) =>
        arrays.Select((a, i) => new DatasetArray(arrays.Names?[i], a.SampleShape, TypeName(a.DType)) { Range = ranges ? LabelRange.Of(a) : null }).ToList();

    /// <summary>The range of each label array, in the order of <see cref="DatasetInfo.Targets"/> (one for built-ins), or
    /// null without labels. Recorded at upload; a built-in's labels file (one byte a sample) or a dataset stored before
    /// ranges were recorded is read now.</summary>
    public IReadOnlyList<LabelRange?>? LabelRanges(DatasetInfo info)
    {
        if (info.Builtin) return [LabelRange.Of(Idx.Read(BuiltinDatasets.Files(info.Name, _builtinDirectory).Labels))];
        if (info.Targets is { Count: > 0 } t && t.All(a => a.Range is not null)) return t.Select(a => a.Range).ToList();
        if (info.Targets is null && info.LabelShape is null) return null;
        return Load(info).Targets?.Select(LabelRange.Of).ToList();
    }

    private static string TypeName(DType t) => t.ToString().ToLowerInvariant();

    private static InMemoryDataset Pair(DataArray x, DataArray? y)
    {
        if (y is not null && y.Count != x.Count) throw new DataFormatException($"{x.Count} feature rows but {y.Count} labels");
        return new InMemoryDataset(x, y);
    }

    private static string FormatOf(string fileName)
    {
        var n = fileName.ToLowerInvariant();
        if (n.EndsWith(".gz", StringComparison.Ordinal)) n = n[..^3];
        return n.EndsWith(".csv", StringComparison.Ordinal) ? "csv"
            : n.EndsWith(".npy", StringComparison.Ordinal) ? "npy"
            : n.EndsWith(".npz", StringComparison.Ordinal) ? "npz"
            : n.EndsWith(".idx", StringComparison.Ordinal) || n.Contains("ubyte", StringComparison.Ordinal) || n.Contains("idx", StringComparison.Ordinal) ? "idx"
            : throw ApiException.BadRequest($"cannot tell the format of '{fileName}'; give a 'format' field (csv, npy, npz, idx)");
    }

    private static async Task<string> SaveAsync(IFormFile file, string dir, string stem, CancellationToken ct)
    {
        // Keep the extension (Idx.Read looks at .gz) but never the client's path.
        var name = Path.GetFileName(file.FileName);
        var ext = name.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? Path.GetExtension(name[..^3]) + ".gz" : Path.GetExtension(name);
        if (ext.Any(c => !char.IsAsciiLetterOrDigit(c) && c != '.')) ext = "";
        var target = stem + ext.ToLowerInvariant();
        await using var s = File.Create(Path.Combine(dir, target));
        await file.CopyToAsync(s, ct);
        return target;
    }
}

public static class DatasetServiceCollection
{
    public static IServiceCollection AddDatasets(this IServiceCollection services) => services.AddSingleton<DatasetStore>();
}
