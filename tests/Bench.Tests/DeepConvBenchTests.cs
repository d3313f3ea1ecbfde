namespace NeuralService.Bench.Tests;

public sealed class DeepConvBenchTests
{
    /// <summary>A tiny run of the bench without the PyTorch side: it trains and reports milliseconds per step.</summary>
    [Fact]
    public void A_small_run_reports_milliseconds_per_step()
    {
        string[] args = ["deep-conv", "--channels", "8", "--size", "5", "--batch", "4", "--steps", "3", "--rounds", "2", "--threads", "1", "--no-torch"];
        var output = new StringWriter();
        var console = Console.Out;
        Console.SetOut(output);
        int code;
        try
        {
            code = BenchApp.Run(args);
        }
        finally
        {
            Console.SetOut(console);
        }
        Assert.Equal(0, code);
        var text = output.ToString();
        Assert.Contains("PyTorch: skipped", text);
        Assert.Equal(2, text.Split('\n').Count(l => l.TrimStart().StartsWith("round ", StringComparison.Ordinal)));
        var median = text.Split('\n').Single(l => l.StartsWith("NeuralService:", StringComparison.Ordinal));
        var ms = double.Parse(median.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(ms > 0, median);
    }
}
