using System.Text.Json;

namespace NeuralService.Api.Tests.Ui;

/// <summary>What a job page's charts show while the job trains.</summary>
internal static class JobPageCurves
{
    private const string Points = "Number(document.querySelector('#chart-loss').dataset.points) + Number(document.querySelector('#chart-metrics').dataset.points)";

    /// <summary>The charts' point counts, sampled every 100 ms until the page says job <paramref name="id"/> ended.</summary>
    public static async Task<IReadOnlyList<int>> SampleUntilDoneAsync(Chromium browser, string id, TimeSpan limit, Xunit.Abstractions.ITestOutputHelper output)
    {
        var seen = new List<int>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((await browser.EvaluateAsync("document.querySelector('#history').dataset.done === 'true'")).ValueKind != JsonValueKind.True)
        {
            Assert.True(clock.Elapsed < limit, $"the page did not see job {id} end; page errors: {string.Join(" | ", browser.PageErrors)}");
            seen.Add((await browser.EvaluateAsync(Points)).GetInt32());
            await Task.Delay(100);
        }
        output.WriteLine($"point counts seen while training: {string.Join(",", seen.Distinct())} ({clock.Elapsed.TotalSeconds:0.0} s)");
        return seen;
    }

    /// <summary>The job's stored history as (epoch, metric, value), in epoch then metric order.</summary>
    public static List<(int Epoch, string Name, double Value)> StoredHistory(JsonElement job) =>
        job.GetProperty("history").EnumerateArray()
            .SelectMany(h => h.GetProperty("metrics").EnumerateObject().Select(m => (Epoch: h.GetProperty("epoch").GetInt32(), m.Name, Value: m.Value.GetDouble())))
            .OrderBy(x => x.Epoch).ThenBy(x => x.Name, StringComparer.Ordinal).ToList();

    /// <summary>The page's history table as (epoch, metric, value), in the same order.</summary>
    public static async Task<List<(int Epoch, string Name, double Value)>> ShownHistoryAsync(Chromium browser) =>
        (await browser.EvaluateAsync("""
            [...document.querySelectorAll('#history td[data-metric]')].map(td => ({
              epoch: Number(td.closest('tr').dataset.epoch), name: td.dataset.metric, value: td.dataset.value }))
            """)).EnumerateArray()
            .Select(e => (Epoch: e.GetProperty("epoch").GetInt32(), Name: e.GetProperty("name").GetString()!,
                Value: double.Parse(e.GetProperty("value").GetString()!, System.Globalization.CultureInfo.InvariantCulture)))
            .OrderBy(x => x.Epoch).ThenBy(x => x.Name, StringComparer.Ordinal).ToList();
}
