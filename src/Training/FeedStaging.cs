namespace NeuralService.Training;

/// <summary>Reusable conversion buffers for batch inputs, by input name.</summary>
internal sealed class FeedStaging
{
    private readonly Dictionary<string, float[]> _floats = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long[]> _longs = new(StringComparer.Ordinal);

    public float[] Floats(string name, int length) => Get(_floats, name, length);

    public long[] Longs(string name, int length) => Get(_longs, name, length);

    private static T[] Get<T>(Dictionary<string, T[]> buffers, string name, int length)
    {
        if (!buffers.TryGetValue(name, out var buffer) || buffer.Length < length) buffers[name] = buffer = new T[length];
        return buffer;
    }
}
