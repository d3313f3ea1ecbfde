using System.Diagnostics;
using NeuralService.Cli.Commands;
using NeuralService.Graph.Models;
using NeuralService.Graph.Training;
using NeuralService.Training;
using NeuralService.Training.Data;
using NeuralService.Training.Execution;

namespace NeuralService.Applications;

/// <summary>(c) The seed's windowed LSTM recipe on the longest real daily series offline here, the S&amp;P 500's 5,105
/// daily closes 2000–2020 (<see cref="Sp500Daily"/>): split by time (the first 80% of days train), MinMaxScaler
/// fitted on the training days only, windows of 60 days → the next day (a test window may reach back into the
/// training days for its context), the seed spec <c>stock_lstm.json</c> unchanged (LSTM(50, return_sequences) →
/// Dropout(0.2) → LSTM(50) → Dense(1)), mse, Adam. Predictions are inverse-transformed, so the test RMSE is in index
/// points, reported beside the naive forecast "tomorrow = today" and the training days' mean.</summary>
public static class StockLstm
{
    public const int Window = 60;
    public const int BatchSize = 32;
    public const double LearningRate = 1e-3;
    public const int DefaultEpochs = 20;

    /// <summary>The smoke test's slice: the last days of the series and fewer epochs.</summary>
    public const int QuickSamples = 700;

    public static Model BuildModel() => Common.Spec("stock_lstm.json");

    public static AppResult Run(AppOptions options)
    {
        var series = Sp500Daily.Load();
        var days = options.Samples ?? (options.Quick ? QuickSamples : series.Prices.Length);
        if (days <= 2 * Window || days > series.Prices.Length)
            throw new ArgumentOutOfRangeException(nameof(options), $"--samples {days}: needs {2 * Window + 1}..{series.Prices.Length} days");
        // --samples keeps the most recent days, so a short run still ends where the full run ends.
        var prices = series.Prices[^days..];
        var dates = series.Dates[^days..];
        var split = (int)(days * 0.8);
        var scaler = new MinMaxScaler();
        scaler.Fit(DataArray.Create(prices[..split], split, 1));
        var scaled = scaler.Transform(DataArray.Create(prices, days, 1)).ToFloat32();
        // Window t covers days t-60..t-1 and predicts day t; it tests when day t is past the split.
        var targets = Enumerable.Range(Window, days - Window).ToArray();
        var trainT = targets.Where(t => t < split).ToArray();
        var testT = targets.Where(t => t >= split).ToArray();
        InMemoryDataset Set(int[] ts) => new(
            DataArray.Create(ts.SelectMany(t => scaled[(t - Window)..t]).ToArray(), ts.Length, Window, 1),
            DataArray.Create(ts.Select(t => scaled[t]).ToArray(), ts.Length, 1));
        var train = Set(trainT);
        var test = Set(testT);

        var epochs = options.Epochs ?? (options.Quick ? 3 : DefaultEpochs);
        using var trainer = new Trainer(BuildModel(), new DeviceOptions { IntraOpThreads = options.Threads }, seed: options.Seed);
        // As Common.Fit measures the other apps: compile and epochs, wall and CPU seconds.
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        trainer.Compile(new Adam { LearningRate = LearningRate }, "mse", ["mae"]);
        var history = trainer.Fit(train, new FitOptions { Epochs = epochs, BatchSize = BatchSize, Output = options.Log, Verbose = 2 });
        var trainSeconds = clock.Elapsed.TotalSeconds;
        var trainCpu = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        var eval = trainer.Evaluate(test, 256);
        var predicted = scaler.InverseTransform(DataArray.Create(trainer.Predict(test.Features, 256)[0], testT.Length, 1)).ToFloat32();

        var actual = testT.Select(t => prices[t]).ToArray();
        var naive = testT.Select(t => prices[t - 1]).ToArray();
        // A forecast that knows nothing of the recent days: the mean close of the training days.
        var trainMean = Enumerable.Repeat((float)prices[..split].Average(), actual.Length).ToArray();
        var metrics = new Dictionary<string, double>(eval.ToDictionary(kv => "scaled_" + kv.Key, kv => kv.Value))
        {
            ["rmse"] = Rmse(predicted, actual),
            ["mae"] = predicted.Zip(actual, (p, a) => Math.Abs((double)p - a)).Average(),
            // Mean signed error: negative when the model stays below the test prices (which pass the training maximum,
            // where the scaled inputs leave the 0..1 range the model saw).
            ["bias"] = predicted.Zip(actual, (p, a) => (double)p - a).Average(),
            ["train_max"] = prices[..split].Max(),
            ["test_above_train_max"] = actual.Count(a => a > prices[..split].Max()) / (double)actual.Length,
            ["train_s"] = Math.Round(trainSeconds, 2),
            ["train_cpu_s"] = Math.Round(trainCpu, 2),
            ["train_windows"] = trainT.Length,
            ["test_windows"] = testT.Length,
        };
        var baseline = new Dictionary<string, double>
        {
            ["naive_rmse"] = Rmse(naive, actual),
            ["naive_mae"] = naive.Zip(actual, (p, a) => Math.Abs((double)p - a)).Average(),
            ["train_mean_rmse"] = Rmse(trainMean, actual),
        };

        var plot = Common.PlotPath(options, "stock_lstm.png");
        var x = testT.Select(t => dates[t].ToDateTime(TimeOnly.MinValue).ToOADate()).ToArray();
        HistoryPlot.Save([
            new HistoryPlot.Panel($"S&P 500 daily close, test days {dates[testT[0]]:yyyy-MM-dd} to {dates[testT[^1]]:yyyy-MM-dd}: " +
                $"RMSE {metrics["rmse"]:F1} (naive {baseline["naive_rmse"]:F1})", "date", [
                new("actual", x, actual.Select(v => (double)v).ToArray(), ScottPlot.Colors.Black, false),
                new("LSTM prediction", x, predicted.Select(v => (double)v).ToArray(), HistoryPlot.Validation, false)]) { YLabel = "close (index points)", DateX = true },
            new HistoryPlot.Panel("training loss (mse on scaled closes)", "epoch", [
                new("loss", history.Epochs.Select(e => e + 1.0).ToArray(), history["loss"].ToArray(), HistoryPlot.Train, false)]) { YLabel = "loss" },
        ], plot, 720, 420);
        return new AppResult("stock-lstm", history["loss"], metrics, baseline, plot);
    }

    private static double Rmse(float[] p, float[] a) => Math.Sqrt(p.Zip(a, (x, y) => (double)(x - y) * (x - y)).Average());
}
