using System.Globalization;

namespace NeuralService.Training.Data;

/// <summary>One ticker's closing prices (monthly in stocks.csv, daily in <see cref="Sp500Daily"/>), in date order.</summary>
public sealed record PriceSeries(string Symbol, DateOnly[] Dates, float[] Prices);

/// <summary>
/// CSVs shipped by Debian's <c>python3-vega-datasets</c>. <c>stocks.csv</c> has columns symbol,date,price with dates
/// like <c>Jan 1 2000</c>; each symbol becomes one series for <see cref="Timeseries"/>.
/// </summary>
public static class VegaDatasets
{
    public const string DataDirectory = "/usr/lib/python3/dist-packages/vega_datasets/_data";

    public static IReadOnlyDictionary<string, PriceSeries> LoadStocks(string? path = null)
    {
        path ??= Path.Combine(DataDirectory, "stocks.csv");
        if (!File.Exists(path))
            throw new FileNotFoundException($"{path} is missing: install Debian's package python3-vega-datasets", path);
        using var reader = new StreamReader(path);
        var rows = new Dictionary<string, List<(DateOnly, float)>>();
        string[]? header = null;
        int iSym = -1, iDate = -1, iPrice = -1;
        foreach (var (line, f) in Csv.Records(reader, ',', path))
        {
            if (header is null)
            {
                header = f;
                iSym = Array.IndexOf(f, "symbol");
                iDate = Array.IndexOf(f, "date");
                iPrice = Array.IndexOf(f, "price");
                if (iSym < 0 || iDate < 0 || iPrice < 0)
                    throw DataFormatException.At(path, line, $"expected columns symbol,date,price, got {string.Join(",", f)}");
                continue;
            }
            if (f.Length != header.Length) throw DataFormatException.At(path, line, $"{f.Length} fields, expected {header.Length}");
            if (!DateOnly.TryParseExact(f[iDate], ["MMM d yyyy", "yyyy-MM-dd"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                throw DataFormatException.At(path, line, $"column 'date': '{f[iDate]}' is not a date like 'Jan 1 2000'");
            float price = (float)Csv.ParseNumber(f[iPrice], path, line, "price");
            if (!rows.TryGetValue(f[iSym], out var list)) rows[f[iSym]] = list = [];
            list.Add((date, price));
        }
        return rows.ToDictionary(
            kv => kv.Key,
            kv =>
            {
                var sorted = kv.Value.OrderBy(r => r.Item1).ToArray();
                return new PriceSeries(kv.Key, sorted.Select(r => r.Item1).ToArray(), sorted.Select(r => r.Item2).ToArray());
            });
    }
}
