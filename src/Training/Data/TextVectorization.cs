using System.Text.RegularExpressions;

namespace NeuralService.Training.Data;

/// <summary>
/// Keras's <c>TextVectorization</c> in <c>output_mode="int"</c>, standardize <c>lower_and_strip_punctuation</c>
/// (lower-case, then delete every character of <c>[!"#$%&amp;()*+,-./:;&lt;=&gt;?@[\]^_`{|}~']</c>), split on whitespace.
/// The vocabulary is ["" (padding, 0), "[UNK]" (OOV, 1), tokens by descending count, ties by descending ordinal
/// order]; <see cref="MaxTokens"/> counts those two. With <see cref="OutputSequenceLength"/> each row is truncated
/// or zero-padded at the end to that length; without it rows are padded to the longest in the call.
/// </summary>
public sealed partial class TextVectorization
{
    public const string PaddingToken = "";
    public const string OovToken = "[UNK]";

    private Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private string[] _vocabulary = [PaddingToken, OovToken];

    public TextVectorization(int? maxTokens = null, int? outputSequenceLength = null, bool standardize = true)
    {
        if (maxTokens is < 3) throw new ArgumentOutOfRangeException(nameof(maxTokens), maxTokens, "max_tokens must be at least 3 (padding, OOV and one token)");
        if (outputSequenceLength is <= 0) throw new ArgumentOutOfRangeException(nameof(outputSequenceLength), outputSequenceLength, "output_sequence_length must be positive");
        MaxTokens = maxTokens;
        OutputSequenceLength = outputSequenceLength;
        Standardize = standardize;
    }

    public int? MaxTokens { get; }

    public int? OutputSequenceLength { get; }

    public bool Standardize { get; }

    /// <summary>Keras's <c>get_vocabulary()</c>: index → token.</summary>
    public IReadOnlyList<string> Vocabulary => _vocabulary;

    public int VocabularySize => _vocabulary.Length;

    public string[] Tokens(string text)
    {
        if (Standardize) text = StripRegex().Replace(text.ToLowerInvariant(), "");
        return text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
    }

    public void Adapt(IEnumerable<string> texts)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in texts)
            foreach (var w in Tokens(t))
                counts[w] = counts.GetValueOrDefault(w) + 1;
        var ranked = counts.OrderByDescending(kv => kv.Value).ThenByDescending(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key);
        if (MaxTokens is int m) ranked = ranked.Take(m - 2);
        SetVocabulary(ranked);
    }

    /// <summary>Sets the vocabulary tokens (without the padding and OOV entries, which are added in front).</summary>
    public void SetVocabulary(IEnumerable<string> tokens)
    {
        _vocabulary = [PaddingToken, OovToken, .. tokens];
        _index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 2; i < _vocabulary.Length; i++) _index.TryAdd(_vocabulary[i], i);
    }

    public int[] Encode(string text) => Tokens(text).Select(w => _index.TryGetValue(w, out var i) ? i : 1).ToArray();

    /// <summary>Encodes a batch to int64 [n, length].</summary>
    public DataArray Call(IReadOnlyList<string> texts)
    {
        var seqs = texts.Select(Encode).ToArray();
        int len = OutputSequenceLength ?? seqs.Select(s => s.Length).DefaultIfEmpty(0).Max();
        var padded = Sequences.PadSequences(seqs, len, Padding.Post, Padding.Post, 0);
        return padded.Cast(DType.Int64);
    }

    [GeneratedRegex(@"[!""#$%&()\*\+,\-\./:;<=>?@\[\\\]^_`{|}~']")]
    private static partial Regex StripRegex();
}
