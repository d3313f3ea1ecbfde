using NeuralService.Cli.Commands;
using NeuralService.Training.Data;

namespace NeuralService.Applications;

/// <summary>(b) Which fortune file a fortune comes from (Debian's fortunes: computers, science, love): Keras
/// Tokenizer (fitted on the training texts only), pre-padded sequences of 50 tokens, Embedding(4000, 32) → LSTM(32)
/// → Dense(3, softmax). Compared with always answering the most frequent class.</summary>
public static class TextLstm
{
    public const int Vocabulary = 4000;
    public const int Length = 50;

    public static AppResult Run(AppOptions options)
    {
        var texts = TextData.LoadFortunes(categories: ["computers", "science", "love"]);
        var order = Common.Permutation(texts.Count, options.Seed);
        if (options.Quick) order = order[..160];
        else if (options.Samples is { } s) order = order[..Math.Min(s, order.Length)];
        var nTrain = (int)(order.Length * 0.8);
        var trainIdx = order[..nTrain];
        var testIdx = order[nTrain..];
        var tokenizer = new Tokenizer(numWords: Vocabulary, oovToken: "<oov>");
        tokenizer.FitOnTexts(trainIdx.Select(i => texts.Texts[i]));
        InMemoryDataset Set(int[] idx) => new(
            Sequences.PadSequences(tokenizer.TextsToSequences(idx.Select(i => texts.Texts[i])), Length).Cast(DType.Int64),
            DataArray.Vector(idx.Select(i => texts.Labels[i]).ToArray()), classNames: texts.ClassNames);
        var train = Set(trainIdx);
        var test = Set(testIdx);
        var model = Common.Json($$$"""
            {"class_name": "Sequential", "config": {"name": "fortune_lstm", "layers": [
              {"class_name": "InputLayer", "config": {"batch_shape": [null, {{{Length}}}], "dtype": "int64", "name": "tokens"}},
              {"class_name": "Embedding", "config": {"input_dim": {{{Vocabulary}}}, "output_dim": 32, "name": "embedding"}},
              {"class_name": "LSTM", "config": {"units": 32, "name": "lstm"}},
              {"class_name": "Dense", "config": {"units": 3, "activation": "softmax", "name": "category"}}]}}
            """);
        var (history, eval, trainer) = Common.Fit(model, train, test, options, options.Epochs ?? (options.Quick ? 3 : 12), 32, 5e-3,
            "sparse_categorical_crossentropy", ["accuracy"], options.Quick ? 0 : 0.1);
        trainer.Dispose();
        var plot = Common.PlotPath(options, "text_lstm.png");
        HistoryPlot.Save(history, plot, "fortune_lstm");
        var majority = train.Labels!.ToInt64().GroupBy(v => v).MaxBy(g => g.Count())!.Key;
        var baseline = test.Labels!.ToInt64().Count(v => v == majority) / (double)test.Count;
        return new AppResult("text-lstm", history["loss"], eval, new Dictionary<string, double> { ["majority_accuracy"] = baseline }, plot);
    }
}
