using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Google.Protobuf;
using NeuralService.Api.Tests.Support;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Tests.Support;
using Xunit.Abstractions;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Loads measure the process's native memory: no other test may run meanwhile.</summary>
[CollectionDefinition(nameof(ModelMemoryOverTcpTests), DisableParallelization = true)]
public sealed class ModelMemoryCollection;

/// <summary>A model file of a hundred bytes that asks for gigabytes (<c>ConstantOfShape([32768, 32768])</c>) over TCP:
/// refused at upload with a 422 naming the figure, quickly, without allocating it; readiness stays true and fast, the
/// store unchanged. Under a small configured budget, a model whose load measures just over it is refused at first
/// use (and stays refused without loading again) while one under it is served.</summary>
[Collection(nameof(ModelMemoryOverTcpTests))]
public sealed class ModelMemoryOverTcpTests(ITestOutputHelper output)
{
    private const long MiB = 1 << 20;

    private static string InferBody => """{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1.0]}], "parameters": {"binary_data_output": true}}""";

    [Fact]
    public async Task ATinyConstantOfShapeModelIsRefusedAtUploadQuicklyAndChangesNothing()
    {
        using var s = new ServedModel();
        var before = await s.SnapshotAsync();
        var bomb = MemoryModels.ConstantOfShape([32768, 32768]).ToByteArray();
        var memory = NativeMemory.InUseBytes();
        var rss = NativeMemory.ResidentBytes();
        var clock = Stopwatch.StartNew();
        var problem = await ProblemAssert.IsProblemAsync(await s.Client.PostAsync("/v1/models/bomb/versions", TestModels.Octets(bomb)), 422);
        var refusedIn = clock.ElapsedMilliseconds;
        var grew = NativeMemory.InUseBytes() - memory;
        output.WriteLine($"{bomb.Length}-byte model refused in {refusedIn} ms; native memory in use grew {grew} bytes, RSS {NativeMemory.ResidentBytes() - rss} bytes");
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("4294967312 bytes", detail);
        Assert.Contains("2147483648-byte model memory budget", detail);
        Assert.Contains("ConstantOfShape", detail);
        Assert.True(refusedIn < 2000, $"refusing took {refusedIn} ms");
        Assert.True(grew < 256 * MiB, $"native memory grew {grew} bytes");

        clock.Restart();
        var ready = await s.Client.GetAsync("/v2/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.True(JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement.GetProperty("ready").GetBoolean());
        Assert.True(clock.ElapsedMilliseconds < 1000, $"/ready took {clock.ElapsedMilliseconds} ms");
        Assert.Equal(HttpStatusCode.NotFound, (await s.Client.GetAsync("/v1/models/bomb")).StatusCode);
        before.AssertSame(await s.SnapshotAsync());
    }

    [Fact]
    public async Task UnderASmallBudgetAModelJustOverItIsRefusedAndOneUnderItIsServed()
    {
        using var s = new ServedModel(new Dictionary<string, string?>
        {
            ["Neural:MaxModelMemoryBytes"] = (32 * MiB).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Neural:SessionCacheBytes"] = (64 * MiB).ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        // Its constants show in the graph: refused at upload.
        var before = await s.SnapshotAsync();
        var visible = await ProblemAssert.IsProblemAsync(
            await s.Client.PostAsync("/v1/models/visible/versions", TestModels.Octets(MemoryModels.ConstantOfShape([4096, 4096]).ToByteArray())), 422);
        Assert.Contains("67108880 bytes", visible.GetProperty("detail").GetString());
        before.AssertSame(await s.SnapshotAsync());

        // The same 64 MiB behind an Abs: only loading it tells, so the first request is refused and the model not served.
        Assert.Equal(HttpStatusCode.Created, (await s.Client.PostAsync("/v1/models/over/versions",
            TestModels.Octets(MemoryModels.ConstantOfShape([4096, 4096], hidden: true).ToByteArray()))).StatusCode);
        var clock = Stopwatch.StartNew();
        var problem = await ProblemAssert.IsProblemAsync(await s.Client.PostAsync("/v2/models/over/infer", TestModels.Json(InferBody)), 422);
        output.WriteLine($"refused at load after {clock.ElapsedMilliseconds} ms: {problem.GetProperty("detail").GetString()}");
        Assert.Contains("over the 33554432-byte model memory budget", problem.GetProperty("detail").GetString());
        clock.Restart();
        await ProblemAssert.IsProblemAsync(await s.Client.GetAsync("/v2/models/over/ready"), 422);
        Assert.True(clock.ElapsedMilliseconds < 1000, $"a second refusal took {clock.ElapsedMilliseconds} ms");
        Assert.Equal(HttpStatusCode.OK, (await s.Client.GetAsync("/v2/health/ready")).StatusCode);

        Assert.Equal(HttpStatusCode.Created, (await s.Client.PostAsync("/v1/models/under/versions",
            TestModels.Octets(MemoryModels.ConstantOfShape([512, 1024], hidden: true).ToByteArray()))).StatusCode);
        var served = await s.Client.PostAsync("/v2/models/under/infer", TestModels.Json(InferBody));
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        var header = int.Parse(served.Headers.GetValues("Inference-Header-Content-Length").Single(), System.Globalization.CultureInfo.InvariantCulture);
        var bytes = await served.Content.ReadAsByteArrayAsync();
        var outputs = JsonDocument.Parse(bytes.AsMemory(0, header)).RootElement.GetProperty("outputs")[0];
        Assert.Equal("[512,1024]", outputs.GetProperty("shape").GetRawText());
        Assert.Equal(512 * 1024 * 4, bytes.Length - header);
        Assert.Equal(1f, BitConverter.ToSingle(bytes, header + 4 * 1000)); // x + 0
    }
}
