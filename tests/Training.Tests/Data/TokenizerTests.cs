using NeuralService.Training.Data;

namespace NeuralService.Training.Tests.Data;

public sealed class TokenizerTests
{
    private static readonly string[] Texts = ["The cat sat on the mat.", "The dog ate my homework!"];

    [Fact]
    public void WordIndexRanksByCountThenFirstSeen()
    {
        var t = new Tokenizer();
        t.FitOnTexts(Texts);
        Assert.Equal(1, t.WordIndex["the"]);
        Assert.Equal(["the", "cat", "sat", "on", "mat", "dog", "ate", "my", "homework"], t.WordIndex.OrderBy(kv => kv.Value).Select(kv => kv.Key));
        Assert.Equal(3, t.WordCounts["the"]);
        Assert.Equal(2, t.WordDocs["the"]);
        Assert.Equal(2, t.DocumentCount);
    }

    [Fact]
    public void TextToWordSequenceFiltersAndLowers()
    {
        Assert.Equal(["hello", "world", "it's"], Tokenizer.TextToWordSequence("Hello,  World!\tit's"));
    }

    [Fact]
    public void UnknownWordsDropWithoutOov()
    {
        var t = new Tokenizer();
        t.FitOnTexts(Texts);
        Assert.Equal([1, 2, 7], t.TextsToSequences(["the cat ate a fish"])[0]);
    }

    [Fact]
    public void OovTokenIsIndexOne()
    {
        var t = new Tokenizer(oovToken: "<OOV>");
        t.FitOnTexts(Texts);
        Assert.Equal(1, t.WordIndex["<OOV>"]);
        Assert.Equal(2, t.WordIndex["the"]);
        Assert.Equal([2, 3, 8, 1, 1], t.TextToSequence("the cat ate a fish"));
        Assert.Equal(["the cat ate <OOV> <OOV>"], t.SequencesToTexts([[2, 3, 8, 1, 1]]));
    }

    [Fact]
    public void MatrixModes()
    {
        var t = new Tokenizer();
        t.FitOnTexts(Texts);
        // "the the cat": index 1 twice, index 2 once; 10 columns (9 words + 1).
        Assert.Equal([1, 10], t.TextsToMatrix(["the the cat"]).Shape);
        Assert.Equal(new float[] { 0, 1, 1, 0 }, t.TextsToMatrix(["the the cat"]).As<float>()[..4]);
        Assert.Equal(new float[] { 0, 2, 1, 0 }, t.TextsToMatrix(["the the cat"], TokenizerMatrixMode.Count).As<float>()[..4]);
        Assert.Equal(2f / 3, t.TextsToMatrix(["the the cat"], TokenizerMatrixMode.Freq).As<float>()[1], 6);
        // tfidf for "the": tf = 1 + ln 2, idf = ln(1 + 2 / (1 + 2)).
        Assert.Equal((1 + Math.Log(2)) * Math.Log(1 + 2.0 / 3), t.TextsToMatrix(["the the cat"], TokenizerMatrixMode.Tfidf).As<float>()[1], 5);
    }

    [Fact]
    public void NumWordsKeepsIndicesBelowIt()
    {
        var plain = new Tokenizer(numWords: 3);
        plain.FitOnTexts(Texts);
        Assert.Equal([1, 2], plain.TextToSequence("the cat sat"));
        // The word index itself is not truncated (Keras keeps it whole).
        Assert.Equal(9, plain.WordIndex.Count);

        var oov = new Tokenizer(numWords: 3, oovToken: "<OOV>");
        oov.FitOnTexts(Texts);
        Assert.Equal([2, 1, 1], oov.TextToSequence("the cat sat"));
    }
}
