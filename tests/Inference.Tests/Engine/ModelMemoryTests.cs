using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;
using NeuralService.Inference.Tests.Support;

namespace NeuralService.Inference.Tests.Engine;

/// <summary>Loads measure native memory, so nothing else may load models meanwhile.</summary>
[CollectionDefinition(nameof(MemoryMeasuringCollection), DisableParallelization = true)]
public sealed class MemoryMeasuringCollection;

[Collection(nameof(MemoryMeasuringCollection))]
public sealed class ModelMemoryTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const long MiB = 1 << 20;
    private static readonly NamedTensor X = NamedTensor.Create("x", [1f], 1);

    [Fact]
    public async Task The_session_cache_evicts_by_measured_memory_not_file_bytes()
    {
        // Three files of ~150 bytes, each holding at least 4 MiB once loaded: by file size all three fit in 30 MiB many times over.
        await using var f = await EngineFixture.CreateAsync(cacheBytes: 30 * MiB);
        var versions = new List<ModelVersion>();
        for (var i = 0; i < 3; i++)
            versions.Add(await f.Registry.RegisterAsync($"m{i}", MemoryModels.ConstantOfShape([1024, 1024 + i]).Bytes()));
        Assert.All(versions, v => Assert.True(v.SizeBytes < 300, $"{v.SizeBytes} bytes"));

        await f.Engine.InferAsync(versions[0], [X]);
        await f.Engine.InferAsync(versions[1], [X]);
        await f.Engine.InferAsync(versions[0], [X]); // m0 is now more recent than m1
        var runner = await f.Engine.GetRunnerAsync(versions[0]);
        Assert.True(runner.MemoryBytes >= 4 * MiB, $"measured {runner.MemoryBytes}");
        Assert.True(f.Engine.LoadedBytes <= 30 * MiB, $"{f.Engine.LoadedBytes} bytes loaded");

        var y = await f.Engine.InferAsync(versions[2], [X]);
        Assert.Equal(new long[] { 1024, 1026 }, y[0].Dims);
        var loaded = f.Engine.LoadedVersions;
        Assert.Equal("m2/1", loaded[0]);
        Assert.DoesNotContain("m1/1", loaded); // least recently used goes first
        Assert.True(f.Engine.LoadedBytes <= 30 * MiB, $"{f.Engine.LoadedBytes} bytes loaded: {string.Join(", ", loaded)}");
        Assert.Contains(f.Log, l => l.StartsWith("unloading m1/1", StringComparison.Ordinal));
        // An evicted version loads again on demand.
        Assert.Equal(new long[] { 1024, 1025 }, (await f.Engine.InferAsync(versions[1], [X]))[0].Dims);
    }

    [Fact]
    public async Task A_model_whose_load_takes_more_than_the_budget_is_refused_and_one_below_is_served()
    {
        await using var f = await EngineFixture.CreateAsync(cacheBytes: 256 * MiB, maxModelMemoryBytes: 32 * MiB);
        // The shape hides behind an Abs, so the graph check cannot see the 64 MiB: the measurement at load must.
        var over = await f.Registry.RegisterAsync("over", MemoryModels.ConstantOfShape([4096, 4096], hidden: true).Bytes());
        var under = await f.Registry.RegisterAsync("under", MemoryModels.ConstantOfShape([1024, 1024], hidden: true).Bytes());

        var e = await Assert.ThrowsAsync<ModelMemoryException>(() => f.Engine.InferAsync(over, [X]));
        Assert.Contains("over the 33554432-byte model memory budget", e.Message);
        Assert.Contains("over/1 took", e.Message);
        Assert.Equal(ErrorKind.Invalid, e.Kind);
        Assert.Empty(f.Engine.LoadedVersions);
        // Refused once: the next request is answered from memory of that, without loading it again.
        var started = System.Diagnostics.Stopwatch.StartNew();
        var again = await Assert.ThrowsAsync<ModelMemoryException>(() => f.Engine.InferAsync(over, [X]));
        Assert.Equal(e.Message, again.Message);
        Assert.Single(f.Log, l => l.StartsWith("over/1 took", StringComparison.Ordinal));
        Assert.True(started.ElapsedMilliseconds < 1000, $"{started.ElapsedMilliseconds} ms");

        var y = await f.Engine.InferAsync(under, [X]);
        Assert.Equal(new long[] { 1024, 1024 }, y[0].Dims);
        var runner = await f.Engine.GetRunnerAsync(under);
        Assert.InRange(runner.MemoryBytes, 4 * MiB, 32 * MiB);
    }

    [Fact]
    public async Task A_model_over_the_budget_by_its_constants_is_refused_before_it_is_loaded()
    {
        await using var f = await EngineFixture.CreateAsync(cacheBytes: 256 * MiB, maxModelMemoryBytes: 32 * MiB);
        // Registered without an import budget (as before one existed): the engine checks the graph itself before loading.
        var v = await f.Registry.RegisterAsync("huge", MemoryModels.ConstantOfShape([32768, 32768]).Bytes());
        var before = NativeMemory.InUseBytes();
        var started = System.Diagnostics.Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<ModelMemoryException>(() => f.Engine.InferAsync(v, [X]));
        Assert.True(started.ElapsedMilliseconds < 2000, $"{started.ElapsedMilliseconds} ms");
        Assert.True(NativeMemory.InUseBytes() - before < 64 * MiB, "the constant was allocated");
        Assert.Contains("needs at least 4294967312 bytes", e.Message);
        Assert.Contains("ConstantOfShape", e.Message);
    }

    [Fact]
    public async Task Unloading_a_deleted_model_releases_its_memory()
    {
        await using var f = await EngineFixture.CreateAsync(cacheBytes: 256 * MiB);
        var v = await f.Registry.RegisterAsync("big", MemoryModels.ConstantOfShape([4096, 4096]).Bytes());
        var before = NativeMemory.InUseBytes();
        var rssBefore = NativeMemory.ResidentBytes();
        await f.Engine.InferAsync(v, [X]);
        var runner = await f.Engine.GetRunnerAsync(v);
        var loaded = NativeMemory.InUseBytes();
        var rssLoaded = NativeMemory.ResidentBytes();
        Assert.True(loaded - before >= 64 * MiB, $"loading took {loaded - before} bytes");
        Assert.True(runner.MemoryBytes >= 64 * MiB, $"measured {runner.MemoryBytes}");

        await f.Engine.UnloadAsync("big");
        Assert.True(runner.IsDisposed);
        Assert.Empty(f.Engine.LoadedVersions);
        Assert.Equal(0, f.Engine.LoadedBytes);
        var after = NativeMemory.InUseBytes();
        output.WriteLine($"{NativeMemory.Source}: in use {before} → {loaded} loaded (measured {runner.MemoryBytes}) → {after} unloaded; "
            + $"RSS {rssBefore} → {rssLoaded} → {NativeMemory.ResidentBytes()}");
        Assert.True(loaded - after >= 60 * MiB, $"in use: {before} before, {loaded} loaded, {after} after unloading ({NativeMemory.Source})");
    }
}
