namespace NeuralService.Training.Data;

public enum Padding
{
    Pre,
    Post,
}

/// <summary>Sequence utilities.</summary>
public static class Sequences
{
    /// <summary>
    /// Keras's <c>pad_sequences</c>: rows longer than <paramref name="maxlen"/> lose elements at the start
    /// (<c>truncating='pre'</c>) or end; shorter rows get <paramref name="value"/> before (<c>padding='pre'</c>) or
    /// after. <paramref name="maxlen"/> null = the longest row. Result int32 [n, maxlen].
    /// </summary>
    public static DataArray PadSequences(IReadOnlyList<int[]> sequences, int? maxlen = null, Padding padding = Padding.Pre, Padding truncating = Padding.Pre, int value = 0)
    {
        if (maxlen is < 0) throw new ArgumentOutOfRangeException(nameof(maxlen), maxlen, "maxlen must be >= 0");
        int len = maxlen ?? sequences.Select(s => s.Length).DefaultIfEmpty(0).Max();
        var x = new int[sequences.Count * len];
        Array.Fill(x, value);
        for (int i = 0; i < sequences.Count; i++)
        {
            var s = sequences[i].AsSpan();
            if (s.Length > len) s = truncating == Padding.Pre ? s[^len..] : s[..len];
            int at = padding == Padding.Post ? 0 : len - s.Length;
            s.CopyTo(x.AsSpan(i * len + at, s.Length));
        }
        return DataArray.Create(x, sequences.Count, len);
    }
}
