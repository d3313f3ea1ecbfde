using System.Text;

namespace NeuralService.Training.Data;

/// <summary>Cell values of <see cref="Tokenizer.SequencesToMatrix"/> (Keras's <c>mode</c>).</summary>
public enum TokenizerMatrixMode
{
    Binary,
    Count,
    Freq,
    Tfidf,
}

/// <summary>
/// Keras's <c>keras.preprocessing.text.Tokenizer</c>: words are lower-cased (optionally), every character in
/// <see cref="Filters"/> becomes the split character, and the text is split on it dropping empty pieces.
/// <see cref="FitOnTexts"/> ranks words by count (ties keep first-seen order); indices start at 1, the OOV token
/// (if any) is index 1. <see cref="TextsToSequences"/> keeps only indices &lt; <see cref="NumWords"/>, mapping the rest
/// (and unknown words) to the OOV index when there is one, else dropping them.
/// </summary>
public sealed class Tokenizer
{
    public const string DefaultFilters = "!\"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n";

    private readonly Dictionary<string, int> _counts = new(StringComparer.Ordinal);
    private readonly List<string> _firstSeen = [];
    private Dictionary<string, int> _wordIndex = new(StringComparer.Ordinal);

    public Tokenizer(int? numWords = null, string filters = DefaultFilters, bool lower = true, char split = ' ', string? oovToken = null)
    {
        if (numWords is <= 0) throw new ArgumentOutOfRangeException(nameof(numWords), numWords, "num_words must be positive");
        NumWords = numWords;
        Filters = filters;
        Lower = lower;
        Split = split;
        OovToken = oovToken;
    }

    public int? NumWords { get; }

    public string Filters { get; }

    public bool Lower { get; }

    public char Split { get; }

    public string? OovToken { get; }

    public int DocumentCount { get; private set; }

    public IReadOnlyDictionary<string, int> WordCounts => _counts;

    /// <summary>Number of documents each word appears in.</summary>
    public Dictionary<string, int> WordDocs { get; } = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, int> WordIndex => _wordIndex;

    public IReadOnlyDictionary<int, string> IndexWord => _wordIndex.ToDictionary(kv => kv.Value, kv => kv.Key);

    /// <summary>Keras's <c>text_to_word_sequence</c>.</summary>
    public static string[] TextToWordSequence(string text, string filters = DefaultFilters, bool lower = true, char split = ' ')
    {
        if (lower) text = text.ToLowerInvariant();
        var sb = new StringBuilder(text.Length);
        foreach (char c in text) sb.Append(filters.Contains(c) ? split : c);
        return sb.ToString().Split(split, StringSplitOptions.RemoveEmptyEntries);
    }

    public string[] Words(string text) => TextToWordSequence(text, Filters, Lower, Split);

    public void FitOnTexts(IEnumerable<string> texts)
    {
        foreach (var text in texts)
        {
            DocumentCount++;
            var words = Words(text);
            foreach (var w in words)
            {
                if (_counts.TryGetValue(w, out var n)) _counts[w] = n + 1;
                else
                {
                    _counts[w] = 1;
                    _firstSeen.Add(w);
                }
            }
            foreach (var w in words.Distinct(StringComparer.Ordinal))
                WordDocs[w] = WordDocs.GetValueOrDefault(w) + 1;
        }
        // OrderByDescending is stable, like Python's sort(reverse=True): ties stay in first-seen order.
        var ranked = _firstSeen.OrderByDescending(w => _counts[w]).ToList();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        if (OovToken is not null) index[OovToken] = 1;
        foreach (var w in ranked)
            if (!index.ContainsKey(w)) index[w] = index.Count + 1;
        _wordIndex = index;
    }

    public int[][] TextsToSequences(IEnumerable<string> texts) => texts.Select(TextToSequence).ToArray();

    public int[] TextToSequence(string text)
    {
        int? oov = OovToken is not null && _wordIndex.TryGetValue(OovToken, out var o) ? o : null;
        var seq = new List<int>();
        foreach (var w in Words(text))
        {
            if (_wordIndex.TryGetValue(w, out var i))
            {
                if (NumWords is int n && i >= n)
                {
                    if (oov is int oi) seq.Add(oi);
                }
                else seq.Add(i);
            }
            else if (oov is int oi) seq.Add(oi);
        }
        return seq.ToArray();
    }

    /// <summary>
    /// Keras's <c>sequences_to_matrix</c>: row i has C = num_words (or |word_index|+1) columns; for index j seen c times
    /// in a sequence of length n: binary 1, count c, freq c/n, tfidf (1 + ln c)·ln(1 + docs/(1 + docs containing j)).
    /// </summary>
    public DataArray SequencesToMatrix(IReadOnlyList<int[]> sequences, TokenizerMatrixMode mode = TokenizerMatrixMode.Binary)
    {
        int columns = NumWords ?? (_wordIndex.Count > 0
            ? _wordIndex.Count + 1
            : throw new InvalidOperationException("specify num_words or call FitOnTexts before building a matrix"));
        if (mode == TokenizerMatrixMode.Tfidf && DocumentCount == 0)
            throw new InvalidOperationException("tfidf needs FitOnTexts first (document frequencies)");
        var indexDocs = WordDocs.Where(kv => _wordIndex.ContainsKey(kv.Key)).ToDictionary(kv => _wordIndex[kv.Key], kv => kv.Value);
        var x = new float[sequences.Count * columns];
        for (int i = 0; i < sequences.Count; i++)
        {
            var seq = sequences[i];
            var counts = new Dictionary<int, int>();
            foreach (var j in seq)
                if (j < columns) counts[j] = counts.GetValueOrDefault(j) + 1;
            foreach (var (j, c) in counts)
            {
                x[i * columns + j] = mode switch
                {
                    TokenizerMatrixMode.Count => c,
                    TokenizerMatrixMode.Freq => (float)c / seq.Length,
                    TokenizerMatrixMode.Tfidf => (float)((1 + Math.Log(c)) * Math.Log(1 + DocumentCount / (1.0 + indexDocs.GetValueOrDefault(j)))),
                    _ => 1f,
                };
            }
        }
        return DataArray.Create(x, sequences.Count, columns);
    }

    /// <summary>Keras's <c>texts_to_matrix</c> = <see cref="SequencesToMatrix"/> of <see cref="TextsToSequences"/>.</summary>
    public DataArray TextsToMatrix(IEnumerable<string> texts, TokenizerMatrixMode mode = TokenizerMatrixMode.Binary) =>
        SequencesToMatrix(TextsToSequences(texts), mode);

    /// <summary>Inverse of <see cref="TextsToSequences"/> (Keras's <c>sequences_to_texts</c>), words joined by a space.</summary>
    public string[] SequencesToTexts(IEnumerable<int[]> sequences)
    {
        var words = IndexWord;
        int? oov = OovToken is not null && _wordIndex.TryGetValue(OovToken, out var o) ? o : null;
        return sequences.Select(seq => string.Join(' ', seq.Select(i =>
        {
            if (words.TryGetValue(i, out var w) && !(NumWords is int n && i >= n)) return w;
            return oov is int oi ? words[oi] : null;
        }).OfType<string>())).ToArray();
    }
}
