using System.Globalization;

namespace NeuralService.Api.Tests.Fuzz;

/// <summary>The run's seed and size. Every case draws from its own generator, derived from (seed, category, case
/// index) alone, so one case reproduces without replaying the ones before it, and adding a category changes no other.
/// <c>NEURAL_FUZZ_SEED</c> overrides the fixed default seed, <c>NEURAL_FUZZ_CASES</c> the cases per category,
/// <c>NEURAL_FUZZ_CASE=category:index</c> runs that one case.</summary>
public static class FuzzSettings
{
    public const ulong DefaultSeed = 20261202;
    public const int DefaultCases = 200;

    public static ulong Seed { get; } = ulong.TryParse(Environment.GetEnvironmentVariable("NEURAL_FUZZ_SEED"), NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : DefaultSeed;

    public static int Cases { get; } = int.TryParse(Environment.GetEnvironmentVariable("NEURAL_FUZZ_CASES"), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : DefaultCases;

    /// <summary>The single case asked for by <c>NEURAL_FUZZ_CASE</c>, if any.</summary>
    public static (string Category, int Index)? Only { get; } =
        Environment.GetEnvironmentVariable("NEURAL_FUZZ_CASE") is { } only && only.Split(':') is [var c, var i]
            && int.TryParse(i, NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? (c, index) : null;

    /// <summary>The case indices a category runs this time.</summary>
    public static IEnumerable<int> Indices(string category, int cases) =>
        Only is { } only ? (only.Category == category ? [only.Index] : []) : Enumerable.Range(0, cases);

    /// <summary>The generator of one case: SplitMix64 over the seed, an FNV-1a hash of the category and the index, then
    /// System.Random's seeded (and stable across runtimes) algorithm.</summary>
    public static Random Rng(string category, int index)
    {
        var h = 14695981039346656037UL;
        foreach (var ch in category) h = (h ^ ch) * 1099511628211UL;
        var x = Seed ^ (h * 0x9E3779B97F4A7C15UL) ^ ((ulong)index * 0xBF58476D1CE4E5B9UL);
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        x ^= x >> 31;
        return new Random((int)(x & 0x7FFFFFFF));
    }

    public static string Repro(string category, int index) =>
        $"reproduce: NEURAL_FUZZ_SEED={Seed} NEURAL_FUZZ_CASE={category}:{index} dotnet test tests/Api.Tests --filter FullyQualifiedName~Fuzz";
}
