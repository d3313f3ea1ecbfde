using NeuralService.Training.Data;

namespace NeuralService.Training.Tests.Data;

/// <summary>The examples of Keras's pad_sequences documentation.</summary>
public sealed class SequencesTests
{
    private static readonly int[][] Seqs = [[1], [2, 3], [4, 5, 6]];

    [Fact]
    public void DefaultPadsAndTruncatesAtTheFront()
    {
        var x = Sequences.PadSequences(Seqs);
        Assert.Equal([3, 3], x.Shape);
        Assert.Equal(new[] { 0, 0, 1, 0, 2, 3, 4, 5, 6 }, x.As<int>());
    }

    [Fact]
    public void ValuePostAndMaxlen()
    {
        Assert.Equal(new[] { -1, -1, 1, -1, 2, 3, 4, 5, 6 }, Sequences.PadSequences(Seqs, value: -1).As<int>());
        Assert.Equal(new[] { 1, 0, 0, 2, 3, 0, 4, 5, 6 }, Sequences.PadSequences(Seqs, padding: Padding.Post).As<int>());
        Assert.Equal(new[] { 0, 1, 2, 3, 5, 6 }, Sequences.PadSequences(Seqs, maxlen: 2).As<int>());
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5 }, Sequences.PadSequences(Seqs, maxlen: 2, truncating: Padding.Post).As<int>());
    }
}
