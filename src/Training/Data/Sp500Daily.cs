using System.Globalization;

namespace NeuralService.Training.Data;

/// <summary>
/// The longest real daily price series available offline here: 5,105 daily closes of the S&amp;P 500 index,
/// 2000-01-03 to 2020-04-17 (Yahoo Finance), file <c>data/sp500-2000.csv</c> of the npm package <c>vega-datasets</c>
/// 3.2.1 (BSD-3-Clause), which <c>scripts/datasets.sh</c> installs pinned under <c>tools/sp500/node_modules</c>.
/// Columns date (yyyy-MM-dd), open, high, low, close, adjclose, volume; this reads date and close.
/// </summary>
public static class Sp500Daily
{
    /// <summary>Overrides where <c>sp500-2000.csv</c> is looked for (a file path).</summary>
    public const string PathVariable = "NEURAL_SP500_CSV";

    public static readonly string RelativePath = Path.Combine("tools", "sp500", "node_modules", "vega-datasets", "data", "sp500-2000.csv");

    public static PriceSeries Load(string? path = null)
    {
        path ??= DefaultPath();
        if (!File.Exists(path))
            throw new FileNotFoundException(
                $"the daily S&P 500 series {path} is missing: run `source scripts/datasets.sh && install_datasets` " +
                $"(test.sh and run.sh do; it installs the pinned npm package vega-datasets 3.2.1 into tools/sp500), or set {PathVariable}", path);
        using var reader = new StreamReader(path);
        var rows = new List<(DateOnly Date, float Close)>();
        int iDate = -1, iClose = -1, fields = 0;
        foreach (var (line, f) in Csv.Records(reader, ',', path))
        {
            if (fields == 0)
            {
                iDate = Array.IndexOf(f, "date");
                iClose = Array.IndexOf(f, "close");
                if (iDate < 0 || iClose < 0)
                    throw DataFormatException.At(path, line, $"expected columns date and close, got {string.Join(",", f)}");
                fields = f.Length;
                continue;
            }
            if (f.Length != fields) throw DataFormatException.At(path, line, $"{f.Length} fields, expected {fields}");
            if (!DateOnly.TryParseExact(f[iDate], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                throw DataFormatException.At(path, line, $"column 'date': '{f[iDate]}' is not a date like 2000-01-03");
            var close = Csv.ParseNumber(f[iClose], path, line, "close");
            if (!(close > 0)) throw DataFormatException.At(path, line, $"column 'close': {close} is not a positive price");
            if (rows.Count > 0 && date <= rows[^1].Date)
                throw DataFormatException.At(path, line, $"date {date:yyyy-MM-dd} does not follow {rows[^1].Date:yyyy-MM-dd}: the series must be in date order");
            rows.Add((date, (float)close));
        }
        if (rows.Count == 0) throw new DataFormatException($"{path}: no rows");
        return new PriceSeries("^GSPC", rows.Select(r => r.Date).ToArray(), rows.Select(r => r.Close).ToArray());
    }

    /// <summary><c>$NEURAL_SP500_CSV</c>, else the first <see cref="RelativePath"/> found in the current directory, the
    /// program's directory, or one of their parents (the repository's, where the install script puts it).</summary>
    public static string DefaultPath()
    {
        var env = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrEmpty(env)) return env;
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                var candidate = Path.Combine(d.FullName, RelativePath);
                if (File.Exists(candidate)) return candidate;
            }
        return Path.Combine(Directory.GetCurrentDirectory(), RelativePath);
    }
}
