using NeuralService.Cli.Commands;
using NeuralService.Training.Data;

namespace NeuralService.Applications;

/// <summary>(c) Next month's close of one ticker from vega_datasets' stocks.csv: MinMaxScaler fitted on the training
/// months only, windows of 12 months → the 13th, split by time (the first 80% of months train), LSTM(32) → Dense(1)
/// on [12, 1]. Test RMSE in dollars against the naive forecast "next month = this month" and against the training
/// months' mean close.</summary>
public static class StockLstm
{
    public const int Window = 12;

    public static AppResult Run(AppOptions options)
    {
        var series = VegaDatasets.LoadStocks()["IBM"];
        var prices = series.Prices;
        var split = (int)(prices.Length * 0.8);
        var scaler = new MinMaxScaler();
        scaler.Fit(DataArray.Create(prices[..split], split, 1));
        var scaled = scaler.Transform(DataArray.Create(prices, prices.Length, 1)).ToFloat32();
        // Window t covers months t-12..t-1 and predicts month t; it is a test window when month t is after the split.
        var targets = Enumerable.Range(Window, prices.Length - Window).ToArray();
        var trainT = targets.Where(t => t < split).ToArray();
        var testT = targets.Where(t => t >= split).ToArray();
        InMemoryDataset Set(int[] ts) => new(
            DataArray.Create(ts.SelectMany(t => scaled[(t - Window)..t]).ToArray(), ts.Length, Window, 1),
            DataArray.Create(ts.Select(t => scaled[t]).ToArray(), ts.Length, 1));
        var train = Set(trainT);
        var test = Set(testT);
        var model = Common.Json($$$"""
            {"class_name": "Sequential", "config": {"name": "stock_lstm_12", "layers": [
              {"class_name": "InputLayer", "config": {"batch_shape": [null, {{{Window}}}, 1], "name": "prices"}},
              {"class_name": "LSTM", "config": {"units": 32, "name": "lstm"}},
              {"class_name": "Dense", "config": {"units": 1, "name": "next"}}]}}
            """);
        var (history, eval, trainer) = Common.Fit(model, train, test, options, options.Epochs ?? (options.Quick ? 5 : 150), 16, 1e-2, "mse", ["mae"]);
        var predicted = scaler.InverseTransform(DataArray.Create(trainer.Predict(test.Features)[0], testT.Length, 1)).ToFloat32();
        trainer.Dispose();
        var actual = testT.Select(t => prices[t]).ToArray();
        var naive = testT.Select(t => prices[t - 1]).ToArray();
        static double Rmse(float[] p, float[] a) => Math.Sqrt(p.Zip(a, (x, y) => (double)(x - y) * (x - y)).Average());
        var metrics = new Dictionary<string, double>(eval) { ["rmse_dollars"] = Rmse(predicted, actual) };
        var plot = Common.PlotPath(options, "stock_lstm.png");
        var x = testT.Select(t => (double)t).ToArray();
        HistoryPlot.Save([
            new HistoryPlot.Panel($"IBM monthly close, test months (RMSE {metrics["rmse_dollars"]:F2} vs naive {Rmse(naive, actual):F2})", "month index", [
                new("actual", x, actual.Select(v => (double)v).ToArray(), ScottPlot.Colors.Black, false),
                new("LSTM", x, predicted.Select(v => (double)v).ToArray(), ScottPlot.Colors.SteelBlue, false),
                new("naive", x, naive.Select(v => (double)v).ToArray(), ScottPlot.Colors.Gray, true)]) { YLabel = "close ($)" },
            new HistoryPlot.Panel("training loss (mse, scaled)", "epoch", [new("loss", history.Epochs.Select(e => e + 1.0).ToArray(), history["loss"].ToArray(), ScottPlot.Colors.SteelBlue, false)]) { YLabel = "loss" },
        ], plot, 640, 380);
        // A forecast that knows nothing of the recent months: the mean close of the training months.
        var trainMean = Enumerable.Repeat((float)prices[..split].Average(), actual.Length).ToArray();
        return new AppResult("stock-lstm", history["loss"], metrics,
            new Dictionary<string, double> { ["naive_rmse_dollars"] = Rmse(naive, actual), ["train_mean_rmse_dollars"] = Rmse(trainMean, actual) }, plot);
    }
}
