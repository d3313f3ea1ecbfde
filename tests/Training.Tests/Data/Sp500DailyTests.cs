using NeuralService.Training.Data;
using NeuralService.Training.Tests.Support;

namespace NeuralService.Training.Tests.Data;

/// <summary>The daily S&amp;P 500 closes (npm package vega-datasets, installed by scripts/datasets.sh). The real-file test
/// fails, not skips, when the file is missing: test.sh installs it.</summary>
public sealed class Sp500DailyTests
{
    [Fact]
    public void RealSeriesHasTwentyYearsOfTradingDays()
    {
        var path = Sp500Daily.DefaultPath();
        Assert.True(File.Exists(path), $"{path} is not installed: run `source scripts/datasets.sh && install_datasets` (test.sh does)");
        var s = Sp500Daily.Load();
        Assert.Equal(5105, s.Prices.Length);
        Assert.Equal((new DateOnly(2000, 1, 3), 1455.22f), (s.Dates[0], MathF.Round(s.Prices[0], 2)));
        Assert.Equal((new DateOnly(2020, 4, 17), 2874.56f), (s.Dates[^1], MathF.Round(s.Prices[^1], 2)));
        // Trading days: never more than a week apart (the longest gap is the market's closure after 2001-09-10).
        Assert.True(s.Dates.Zip(s.Dates.Skip(1)).All(p => p.Second.DayNumber - p.First.DayNumber is >= 1 and <= 7));
    }

    [Fact]
    public void MissingFileNamesTheInstallCommand()
    {
        using var dir = new TempDir();
        var e = Assert.Throws<FileNotFoundException>(() => Sp500Daily.Load(dir.File("sp500-2000.csv")));
        Assert.Contains("install_datasets", e.Message);
    }

    [Fact]
    public void BadRowsNameTheLine()
    {
        using var dir = new TempDir();
        var path = dir.File("sp500-2000.csv");
        File.WriteAllText(path, "date,open,close\n2000-01-03,1,1455.2\n2000-01-04,1,1399.4\n");
        Assert.Equal([1455.2f, 1399.4f], Sp500Daily.Load(path).Prices);
        File.WriteAllText(path, "date,open,close\n2000-01-03,1,1455.2\n04/01/2000,1,1399.4\n");
        Assert.Contains("sp500-2000.csv:3:", Assert.Throws<DataFormatException>(() => Sp500Daily.Load(path)).Message);
        File.WriteAllText(path, "date,open,close\n2000-01-04,1,1455.2\n2000-01-03,1,1399.4\n");
        Assert.Contains("date order", Assert.Throws<DataFormatException>(() => Sp500Daily.Load(path)).Message);
    }
}
