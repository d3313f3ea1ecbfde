using NeuralService.Training.Data;

namespace NeuralService.Training.Tests.Data;

public sealed class TextVectorizationTests
{
    [Fact]
    public void KerasDocumentedVocabularyExample()
    {
        var v = new TextVectorization(maxTokens: 5000, outputSequenceLength: 4);
        v.SetVocabulary(["earth", "wind", "and", "fire"]);
        Assert.Equal(["", "[UNK]", "earth", "wind", "and", "fire"], v.Vocabulary);
        var x = v.Call(["earth wind and also fire", "fire and earth michigan"]);
        Assert.Equal([2, 4], x.Shape);
        Assert.Equal(new long[] { 2, 3, 4, 1, 5, 4, 2, 1 }, x.As<long>());
    }

    [Fact]
    public void StandardizeLowersAndStripsPunctuation()
    {
        var v = new TextVectorization();
        Assert.Equal(["hello", "worlds", "dont"], v.Tokens("Hello,   WORLD's\n don't!"));
    }

    [Fact]
    public void AdaptRanksByCountTiesByDescendingToken()
    {
        var v = new TextVectorization(maxTokens: 5);
        v.Adapt(["b a c", "c c b", "d"]);
        // counts: c 3, b 2, a 1, d 1 → ties (a, d) high to low → d before a; max_tokens 5 keeps 3 tokens.
        Assert.Equal(["", "[UNK]", "c", "b", "d"], v.Vocabulary);
        var x = v.Call(["a c", "b b b"]);
        Assert.Equal([2, 3], x.Shape); // padded to the longest row without output_sequence_length
        Assert.Equal(new long[] { 1, 2, 0, 3, 3, 3 }, x.As<long>());
    }

    [Fact]
    public void OutputSequenceLengthTruncatesAtTheEnd()
    {
        var v = new TextVectorization(outputSequenceLength: 2);
        v.SetVocabulary(["x", "y", "z"]);
        Assert.Equal(new long[] { 2, 3, 4, 0 }, v.Call(["x y z", "z"]).As<long>());
    }
}
