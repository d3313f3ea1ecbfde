using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using NeuralService.Api.Tests.Support;
using Xunit.Abstractions;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Timed load runs alone, so other test classes' servers do not share its CPU.</summary>
[CollectionDefinition(nameof(LoadCollection), DisableParallelization = true)]
public sealed class LoadCollection;

/// <summary>Many keep-alive clients sending batch-1 KServe JSON requests for a fixed time over loopback: no transport
/// error, no 5xx, every answer equal to the in-process engine's; throughput and latency go to the test output.</summary>
[Collection(nameof(LoadCollection))]
public sealed class LoadOverTcpTests(ITestOutputHelper output)
{
    private const int Clients = 64;
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(3);
    private const int DistinctInputs = 16;

    [Fact]
    public async Task SixtyFourClientsGetOnlyCorrectAnswersAndNo5xx()
    {
        // The rate limiter is per client address and every client here is 127.0.0.1: lift it for the load.
        using var s = new ServedModel(new Dictionary<string, string?> { ["Neural:RateLimit:PermitLimit"] = "1000000000", ["Neural:RateLimit:WindowSeconds"] = "1" });
        var all = TestModels.Inputs(DistinctInputs, 4);
        var expected = (await InProcessReference.PredictAsync(s.Onnx, all, DistinctInputs, 4)).Chunk(3).ToArray();
        var bodies = all.Chunk(4).Select(x => s.InferJson(x, 1)).ToArray();

        var latencies = new ConcurrentBag<double>();
        var statuses = new ConcurrentDictionary<int, int>();
        var transportErrors = new ConcurrentBag<string>();
        var wrong = new ConcurrentBag<string>();
        var clients = Enumerable.Range(0, Clients).Select(_ => s.Api.NewClient(TimeSpan.FromSeconds(30))).ToList();
        try
        {
            // One request each first: connections open and the model loads outside the timed window.
            await Task.WhenAll(clients.Select(c => c.PostAsync("/v2/models/mlp/infer", TestModels.Json(bodies[0]))));
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(clients.Select((client, c) => Task.Run(async () =>
            {
                for (var n = c; clock.Elapsed < Duration; n++)
                {
                    var i = n % DistinctInputs;
                    var start = Stopwatch.GetTimestamp();
                    try
                    {
                        using var r = await client.PostAsync("/v2/models/mlp/infer", TestModels.Json(bodies[i]));
                        var text = await r.Content.ReadAsStringAsync();
                        latencies.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                        statuses.AddOrUpdate((int)r.StatusCode, 1, (_, k) => k + 1);
                        if (r.StatusCode != HttpStatusCode.OK) { wrong.Add($"{(int)r.StatusCode}: {text}"); continue; }
                        var got = JsonDocument.Parse(text).RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
                        if (got.Length != 3 || got.Zip(expected[i]).Any(p => Math.Abs(p.First - p.Second) > 1e-5))
                            wrong.Add($"input {i}: [{string.Join(", ", got)}] vs [{string.Join(", ", expected[i])}]");
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                    {
                        transportErrors.Add(e.Message);
                    }
                }
            })));
            var elapsed = clock.Elapsed.TotalSeconds;

            var sorted = latencies.Order().ToArray();
            output.WriteLine($"{Clients} clients, {elapsed:F1} s over {s.Api.BaseAddress}: {sorted.Length} requests, {sorted.Length / elapsed:F0} req/s, " +
                $"p50 {sorted[sorted.Length / 2]:F2} ms, p99 {sorted[(int)(sorted.Length * 0.99)]:F2} ms, statuses {string.Join(", ", statuses.Select(kv => $"{kv.Key}×{kv.Value}"))}");
            Assert.Empty(transportErrors);
            Assert.DoesNotContain(statuses.Keys, k => k >= 500);
            Assert.Empty(wrong.Take(5));
            Assert.Equal(sorted.Length, statuses.GetValueOrDefault(200));
            Assert.True(sorted.Length >= Clients, $"only {sorted.Length} requests in {elapsed:F1} s");
        }
        finally
        {
            foreach (var c in clients) c.Dispose();
        }
    }
}
