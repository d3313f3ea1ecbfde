using NeuralService.Training.Data;
using NeuralService.Training.Tests.Support;

namespace NeuralService.Training.Tests.Data;

public sealed class VegaDatasetsTests
{
    [Fact]
    public void RealStocksCsv()
    {
        if (!File.Exists(Path.Combine(VegaDatasets.DataDirectory, "stocks.csv"))) return;
        var s = VegaDatasets.LoadStocks();
        Assert.Equal(["AAPL", "AMZN", "GOOG", "IBM", "MSFT"], s.Keys.Order());
        Assert.Equal(560, s.Values.Sum(v => v.Prices.Length));
        var msft = s["MSFT"];
        Assert.Equal(new DateOnly(2000, 1, 1), msft.Dates[0]);
        Assert.Equal(39.81f, msft.Prices[0]);
        Assert.True(msft.Dates.Zip(msft.Dates.Skip(1)).All(p => p.First < p.Second));
    }

    [Fact]
    public void BadDateNamesTheLine()
    {
        using var dir = new TempDir();
        var path = dir.File("stocks.csv");
        File.WriteAllText(path, "symbol,date,price\nX,Jan 1 2000,1.5\nX,31/01/2000,2\n");
        var e = Assert.Throws<DataFormatException>(() => VegaDatasets.LoadStocks(path));
        Assert.Contains("stocks.csv:3:", e.Message);
    }
}
