using NeuralService.Cli.Commands;
using NeuralService.Graph.Models;
using NeuralService.Training.Data;

namespace NeuralService.Applications;

/// <summary>(b) The seed's IMDb model exactly — Embedding(10000, 128) → LSTM(64, dropout 0.2, recurrent_dropout 0.2)
/// → Dense(64, relu) → Dropout(0.5) → Dense(1, sigmoid), binary cross-entropy, Adam 1e-3, batch 64, 500-token
/// pre-padded sequences — on a real binary text task available offline (no IMDb here): whether a fortune comes from
/// Debian's <c>computers</c> (label 0) or <c>politics</c> (label 1) file. Keras flow: <c>Tokenizer(num_words=10000)</c>
/// fitted on the training texts only, <c>texts_to_sequences</c>, <c>pad_sequences(maxlen=500)</c>. Compared with always
/// answering the training set's majority class.</summary>
public static class ImdbLstm
{
    public const int Vocabulary = 10000;
    public const int Length = 500;
    public static readonly IReadOnlyList<string> Categories = ["computers", "politics"];

    /// <summary>The seed's model, layer for layer (1,333,633 parameters).</summary>
    public static Model BuildModel() => Common.Json($$$"""
        {"class_name": "Sequential", "config": {"name": "imdb_lstm", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, {{{Length}}}], "dtype": "int64", "name": "tokens"}},
          {"class_name": "Embedding", "config": {"input_dim": {{{Vocabulary}}}, "output_dim": 128, "name": "embedding"}},
          {"class_name": "LSTM", "config": {"units": 64, "dropout": 0.2, "recurrent_dropout": 0.2, "name": "lstm"}},
          {"class_name": "Dense", "config": {"units": 64, "activation": "relu", "name": "dense"}},
          {"class_name": "Dropout", "config": {"rate": 0.5, "name": "dropout"}},
          {"class_name": "Dense", "config": {"units": 1, "activation": "sigmoid", "name": "sentiment"}}]}}
        """);

    /// <summary>The training and test sets of a run with <paramref name="options"/> (seeded 80/20 split, tokenizer
    /// fitted on the training texts, pre-padded to <see cref="Length"/>).</summary>
    public static (InMemoryDataset Train, InMemoryDataset Test) Prepare(AppOptions options)
    {
        var texts = TextData.LoadFortunes(categories: Categories);
        var order = Common.Permutation(texts.Count, options.Seed);
        if (options.Samples is { } s) order = order[..Math.Min(s, order.Length)];
        else if (options.Quick) order = order[..160];
        var nTrain = (int)(order.Length * 0.8);
        var trainIdx = order[..nTrain];
        var testIdx = order[nTrain..];
        var tokenizer = new Tokenizer(numWords: Vocabulary);
        tokenizer.FitOnTexts(trainIdx.Select(i => texts.Texts[i]));
        InMemoryDataset Set(int[] idx) => new(
            Sequences.PadSequences(tokenizer.TextsToSequences(idx.Select(i => texts.Texts[i])), Length).Cast(DType.Int64),
            DataArray.Vector(idx.Select(i => (float)texts.Labels[i]).ToArray()).Reshape([idx.Length, 1]), classNames: texts.ClassNames);
        return (Set(trainIdx), Set(testIdx));
    }

    /// <summary>Writes <c>x_train</c>, <c>y_train</c>, <c>x_test</c>, <c>y_test</c> (int64 tokens, float32 labels) to an .npz.</summary>
    public static void Export(string path, InMemoryDataset train, InMemoryDataset test) =>
        Npz.Write(path, new Dictionary<string, DataArray> { ["x_train"] = train.Features, ["y_train"] = train.Labels!, ["x_test"] = test.Features, ["y_test"] = test.Labels! });

    public static AppResult Run(AppOptions options)
    {
        var (train, test) = Prepare(options);
        if (options.ExportData is { } path) Export(path, train, test);
        var model = BuildModel();
        var (history, eval, trainer) = Common.Fit(model, train, test, options, options.Epochs ?? (options.Quick ? 2 : 5), 64, 1e-3,
            "binary_crossentropy", ["accuracy"], options.Quick ? 0 : 0.1);
        trainer.Dispose();
        var plot = Common.PlotPath(options, "imdb_lstm.png");
        HistoryPlot.Save(history, plot, "imdb_lstm");
        var trainOnes = train.Labels!.ToFloat32().Count(v => v > 0.5f);
        var majority = trainOnes * 2 >= train.Count ? 1f : 0f;
        var baseline = test.Labels!.ToFloat32().Count(v => v == majority) / (double)test.Count;
        return new AppResult("imdb-lstm", history["loss"], eval, new Dictionary<string, double> { ["majority_accuracy"] = baseline }, plot);
    }
}
