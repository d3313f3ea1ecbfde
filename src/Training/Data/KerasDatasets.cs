namespace NeuralService.Training.Data;

/// <summary>Integer token sequences of varying length with one label each (Keras's imdb lists).</summary>
public sealed record SequenceData(int[][] Sequences, long[] Labels)
{
    public int Count => Sequences.Length;

    /// <summary>Padded to <paramref name="maxlen"/> (Keras's pad_sequences defaults: pre) with int64 labels, ready to batch.</summary>
    public InMemoryDataset ToDataset(int? maxlen = null, Padding padding = Padding.Pre, Padding truncating = Padding.Pre) =>
        new(global::NeuralService.Training.Data.Sequences.PadSequences(Sequences, maxlen, padding, truncating), DataArray.Vector(Labels));
}

/// <summary>
/// Loaders for the files Keras's <c>keras.datasets</c> download: <c>mnist.npz</c> (x_train uint8 [60000,28,28],
/// y_train, x_test, y_test) and <c>imdb.npz</c>. The real imdb.npz holds object arrays of Python lists (pickles),
/// which are refused; the supported imdb layouts are numeric: <c>x_train</c> as a 2-D int array padded with 0
/// (0 is never a word rank), or flat int <c>x_train</c> with <c>x_train_offsets</c> [n+1] (ragged; written by
/// <see cref="WriteImdbNpz"/>).
/// </summary>
public static class KerasDatasets
{
    public static (InMemoryDataset Train, InMemoryDataset Test) LoadMnist(string path)
    {
        var a = Npz.Read(path);
        var train = new InMemoryDataset(Need(a, path, "x_train"), Need(a, path, "y_train"));
        var test = new InMemoryDataset(Need(a, path, "x_test"), Need(a, path, "y_test"));
        return (train, test);
    }

    /// <summary>
    /// Keras's <c>imdb.load_data</c> transforms: each review gets <paramref name="startChar"/> prepended and word ranks
    /// shifted by <paramref name="indexFrom"/>; reviews of length ≥ <paramref name="maxlen"/> are dropped; words
    /// outside [<paramref name="skipTop"/>, <paramref name="numWords"/>) become <paramref name="oovChar"/>.
    /// Sample order is the file's (Keras's seed-113 NumPy shuffle is not reproduced).
    /// </summary>
    public static (SequenceData Train, SequenceData Test) LoadImdb(
        string path, int? numWords = null, int skipTop = 0, int? maxlen = null, int? startChar = 1, int? oovChar = 2, int indexFrom = 3)
    {
        var a = Npz.Read(path);
        var train = Ragged(a, path, "x_train", "y_train");
        var test = Ragged(a, path, "x_test", "y_test");
        int[][] Prep(int[][] xs) => xs.Select(x =>
            (startChar is int s ? new[] { s } : []).Concat(x.Select(w => w + indexFrom)).ToArray()).ToArray();
        var xtr = Prep(train.Sequences);
        var xte = Prep(test.Sequences);
        var ytr = train.Labels;
        var yte = test.Labels;
        if (maxlen is int m)
        {
            (xtr, ytr) = DropLong(xtr, ytr, m);
            (xte, yte) = DropLong(xte, yte, m);
        }
        int limit = numWords ?? xtr.Concat(xte).Where(x => x.Length > 0).Select(x => x.Max()).DefaultIfEmpty(0).Max();
        int[][] Clip(int[][] xs) => xs.Select(x => oovChar is int o
            ? x.Select(w => w >= skipTop && w < limit ? w : o).ToArray()
            : x.Where(w => w >= skipTop && w < limit).ToArray()).ToArray();
        return (new SequenceData(Clip(xtr), ytr), new SequenceData(Clip(xte), yte));
    }

    /// <summary>Writes raw (un-shifted) sequences in the ragged layout <see cref="LoadImdb"/> reads.</summary>
    public static void WriteImdbNpz(string path, SequenceData train, SequenceData test, bool compress = true)
    {
        var arrays = new Dictionary<string, DataArray>();
        void Add(string x, string y, SequenceData d)
        {
            var offsets = new long[d.Count + 1];
            for (int i = 0; i < d.Count; i++) offsets[i + 1] = offsets[i] + d.Sequences[i].Length;
            arrays[x] = DataArray.Vector(d.Sequences.SelectMany(s => s).ToArray());
            arrays[x + "_offsets"] = DataArray.Vector(offsets);
            arrays[y] = DataArray.Vector(d.Labels);
        }
        Add("x_train", "y_train", train);
        Add("x_test", "y_test", test);
        Npz.Write(path, arrays, compress);
    }

    private static (int[][], long[]) DropLong(int[][] xs, long[] ys, int maxlen)
    {
        var keep = Enumerable.Range(0, xs.Length).Where(i => xs[i].Length < maxlen).ToArray();
        return (keep.Select(i => xs[i]).ToArray(), keep.Select(i => ys[i]).ToArray());
    }

    private static SequenceData Ragged(IReadOnlyDictionary<string, DataArray> a, string path, string xKey, string yKey)
    {
        var x = Need(a, path, xKey);
        var y = Need(a, path, yKey).ToInt64();
        if (DTypes.IsFloat(x.DType)) throw new DataFormatException($"{path}: {xKey} must hold integer word indices, got {x.DType}");
        var flat = x.ToInt64();
        int[][] seqs;
        if (a.TryGetValue(xKey + "_offsets", out var offArr))
        {
            if (x.Rank != 1) throw new DataFormatException($"{path}: ragged {xKey} must be 1-D, got [{string.Join(", ", x.Shape)}]");
            var off = offArr.ToInt64();
            if (off.Length != y.Length + 1 || off[0] != 0 || off[^1] != flat.Length)
                throw new DataFormatException($"{path}: {xKey}_offsets must have {y.Length + 1} entries from 0 to {flat.Length}");
            seqs = new int[y.Length][];
            for (int i = 0; i < y.Length; i++)
            {
                if (off[i + 1] < off[i]) throw new DataFormatException($"{path}: {xKey}_offsets decrease at {i + 1}");
                seqs[i] = flat[(int)off[i]..(int)off[i + 1]].Select(v => (int)v).ToArray();
            }
        }
        else if (x.Rank == 2)
        {
            int len = x.Shape[1];
            seqs = new int[x.Count][];
            for (int i = 0; i < x.Count; i++)
                seqs[i] = flat.AsSpan(i * len, len).ToArray().Where(v => v != 0).Select(v => (int)v).ToArray();
        }
        else
        {
            throw new DataFormatException($"{path}: {xKey} must be a 2-D padded int array or a flat int array with {xKey}_offsets");
        }
        if (seqs.Length != y.Length) throw new DataFormatException($"{path}: {xKey} has {seqs.Length} samples but {yKey} has {y.Length}");
        return new SequenceData(seqs, y);
    }

    private static DataArray Need(IReadOnlyDictionary<string, DataArray> a, string path, string key) =>
        a.TryGetValue(key, out var v) ? v : throw new DataFormatException($"{path}: no array '{key}' (found: {string.Join(", ", a.Keys)})");
}
