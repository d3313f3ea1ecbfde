using System.ComponentModel.DataAnnotations;
using NeuralService.Api.Hosting;

namespace NeuralService.Api.Tests.Hosting;

/// <summary>The memory and decompression budgets are validated at start-up, with messages quoting the bad value.</summary>
public sealed class MemoryOptionsTests
{
    private static List<string> Errors(NeuralOptions o) => o.Validate(new ValidationContext(o)).Select(r => r.ErrorMessage!).ToList();

    [Fact]
    public void DefaultsAreValid()
    {
        var o = new NeuralOptions();
        Assert.Empty(Errors(o));
        Assert.Equal(2L << 30, o.MaxModelMemoryBytes);
        Assert.Equal(4L << 30, o.SessionCacheBytes);
        Assert.Equal(2L << 30, o.MaxDecompressedBytes);
    }

    [Fact]
    public void AModelBudgetAboveTheCacheOrTooSmallIsRefused()
    {
        var above = Errors(new NeuralOptions { MaxModelMemoryBytes = 8L << 30, SessionCacheBytes = 4L << 30 });
        Assert.Contains(above, e => e.Contains("Neural:MaxModelMemoryBytes", StringComparison.Ordinal) && e.Contains("got 8589934592", StringComparison.Ordinal)
            && e.Contains("Neural:SessionCacheBytes (4294967296)", StringComparison.Ordinal));
        Assert.Contains(Errors(new NeuralOptions { MaxModelMemoryBytes = 1000 }), e => e.Contains("at least 1 MiB", StringComparison.Ordinal));
        Assert.Contains(Errors(new NeuralOptions { MaxDecompressedBytes = 0 }), e => e.Contains("Neural:MaxDecompressedBytes must be at least 1024, got 0", StringComparison.Ordinal));
    }
}
