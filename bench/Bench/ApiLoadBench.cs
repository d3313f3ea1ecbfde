using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using NeuralService.Api.Hosting;
using NeuralService.Graph.Keras;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;

namespace NeuralService.Bench;

/// <summary>The REST service hosted in this process on 127.0.0.1 with a temp data directory, loaded by N keep-alive
/// HttpClients sending batch-1 KServe JSON requests for a fixed time; the reference, measured in the same run, is the
/// service's own <see cref="InferenceEngine"/> called directly by N concurrent callers (the ratio is what HTTP, JSON
/// and the middleware cost).</summary>
public static class ApiLoadBench
{
    private const int DistinctInputs = 32;

    public static async Task RunAsync(string[] args)
    {
        string Get(string name, string fallback) => BenchOptions.Value(args, name, fallback);
        var clients = int.Parse(Get("--clients", "64"), CultureInfo.InvariantCulture);
        var seconds = double.Parse(Get("--seconds", "10"), CultureInfo.InvariantCulture);
        var modelName = Get("--model", "mlp");
        var requestLog = args.Contains("--request-log");

        var dir = Directory.CreateTempSubdirectory("api-load");
        try
        {
            // The rate limiter counts per client address and all clients are 127.0.0.1, so it is lifted; per-request
            // log lines go to the console unless --request-log, so they are quieted to warnings.
            string[] appArgs =
            [
                "--urls", "http://127.0.0.1:0", "--environment", "Production",
                "--Neural:DataDirectory", dir.FullName, "--Neural:UseCuda", "false",
                "--Neural:RateLimit:PermitLimit", "1000000000", "--Neural:RateLimit:WindowSeconds", "1",
                .. requestLog ? Array.Empty<string>() : ["--Serilog:MinimumLevel:Override:Serilog.AspNetCore.RequestLoggingMiddleware", "Warning"],
                // Service settings to try (--Neural:Batcher:MaxQueueDelayMs 0) pass straight through, after the defaults above.
                .. args.Select((a, i) => (a, i)).Where(p => p.a.StartsWith("--Neural:", StringComparison.Ordinal) && p.i + 1 < args.Length)
                    .SelectMany(p => new[] { p.a, args[p.i + 1] }),
            ];
            await using var app = ApiApp.Build(appArgs);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            var baseAddress = new Uri(address);

            var onnx = KerasModelJson.ReadFile(File.Exists(modelName) ? modelName : Path.Combine(BenchPaths.RepoRoot(), "onnx-models", "specs", modelName + ".json")).ToOnnx().ToByteArray();
            using var setup = new HttpClient { BaseAddress = baseAddress };
            var registered = await setup.PostAsync("/v1/models/bench/versions", new ByteArrayContent(onnx));
            if (!registered.IsSuccessStatusCode) throw new InvalidOperationException($"registering the model: {(int)registered.StatusCode} {await registered.Content.ReadAsStringAsync()}");
            var version = await app.Services.GetRequiredService<ModelRegistry>().ResolveAsync("bench", "1");
            var engine = app.Services.GetRequiredService<InferenceEngine>();
            var spec = version.Signature.Inputs.Single();
            var sampleDims = spec.Shape!.Skip(1).Select(d => d.Size ?? throw new InvalidOperationException($"input {spec.Name} has a dynamic inner dim")).ToArray();
            var sampleSize = (int)sampleDims.Aggregate(1L, (p, d) => p * d);

            var rng = new Random(1);
            var inputs = Enumerable.Range(0, DistinctInputs).Select(_ => Enumerable.Range(0, sampleSize).Select(_ => (float)rng.NextDouble()).ToArray()).ToArray();
            var tensors = inputs.Select(x => NamedTensor.Create(spec.Name, x, [1, .. sampleDims])).ToArray();
            var expected = new float[DistinctInputs][];
            for (var i = 0; i < DistinctInputs; i++) expected[i] = (await engine.InferAsync(version, [tensors[i]]))[0].As<float>();
            var bodies = inputs.Select(x => new Body(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
            {
                inputs = new[] { new { name = spec.Name, shape = (long[])[1, .. sampleDims], datatype = "FP32", data = x } },
            })), null)).ToArray();
            // The same tensors with the binary extension (raw FP32 after a JSON header; JSON output, checked alike).
            var binary = inputs.Select(x =>
            {
                var raw = System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()).ToArray();
                var header = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
                {
                    inputs = new[] { new { name = spec.Name, shape = (long[])[1, .. sampleDims], datatype = "FP32", parameters = new { binary_data_size = raw.Length } } },
                }));
                return new Body([.. header, .. raw], header.Length);
            }).ToArray();

            var settings = string.Join(" ", args.Where(a => a.StartsWith("--Neural:", StringComparison.Ordinal)).Select(a => a[2..] + "=" + app.Configuration[a[2..]]));
            Console.WriteLine($"api-load: model '{modelName}' ({spec.Name} [{string.Join(",", sampleDims)}] float32), service at {baseAddress}, {clients} clients, {seconds:F0} s each phase, {Environment.ProcessorCount} CPUs, load average {LoadAverage()} {settings}");
            // Two floors, same clients and duration: an endpoint doing nothing, and one that only resolves the version in the registry.
            var live = await HttpPhaseAsync(baseAddress, clients, seconds, null, expected, "/v2/health/live");
            var meta = await HttpPhaseAsync(baseAddress, clients, seconds, null, expected, "/v2/models/bench");
            var http = await HttpPhaseAsync(baseAddress, clients, seconds, bodies, expected, "/v2/models/bench/infer");
            var bin = await HttpPhaseAsync(baseAddress, clients, seconds, binary, expected, "/v2/models/bench/infer");
            var direct = await EnginePhaseAsync(engine, version, tensors, clients, seconds);
            Console.WriteLine($"POST /v2/models/bench/infer, JSON tensors: {http.Count} requests, {http.Rate:F0} req/s, p50 {http.P50:F2} ms, p99 {http.P99:F2} ms, " +
                $"statuses {string.Join(", ", http.Statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}×{kv.Value}"))}, transport errors {http.TransportErrors}, wrong answers {http.Wrong}");
            Console.WriteLine($"POST /v2/models/bench/infer, binary tensors: {bin.Count} requests, {bin.Rate:F0} req/s, p50 {bin.P50:F2} ms, p99 {bin.P99:F2} ms, " +
                $"statuses {string.Join(", ", bin.Statuses.OrderBy(kv => kv.Key).Select(kv => $"{kv.Key}×{kv.Value}"))}, transport errors {bin.TransportErrors}, wrong answers {bin.Wrong}");
            Console.WriteLine($"GET /v2/health/live (HTTP floor): {live.Rate:F0} req/s, p50 {live.P50:F2} ms, p99 {live.P99:F2} ms, statuses {string.Join(", ", live.Statuses.Select(kv => $"{kv.Key}×{kv.Value}"))}");
            Console.WriteLine($"GET /v2/models/bench (registry lookup): {meta.Rate:F0} req/s, p50 {meta.P50:F2} ms, p99 {meta.P99:F2} ms, statuses {string.Join(", ", meta.Statuses.Select(kv => $"{kv.Key}×{kv.Value}"))}");
            Console.WriteLine($"engine : {direct.Count} calls, {direct.Rate:F0} req/s, p50 {direct.P50:F2} ms, p99 {direct.P99:F2} ms (InferenceEngine.InferAsync in-process, same batcher settings)");
            Console.WriteLine($"load average after: {LoadAverage()}");
            Console.WriteLine($"ratio HTTP/engine: throughput {http.Rate / direct.Rate:F3} (JSON), {bin.Rate / direct.Rate:F3} (binary); p50 latency {http.P50 / direct.P50:F0}x (JSON), {bin.P50 / direct.P50:F0}x (binary)");
            await app.StopAsync();
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>A request body; <c>HeaderLength</c> set for the binary tensor extension.</summary>
    private sealed record Body(byte[] Bytes, int? HeaderLength);

    private sealed record Result(int Count, double Rate, double P50, double P99, IReadOnlyDictionary<int, int> Statuses, int TransportErrors, int Wrong);

    /// <summary>Infer requests when <paramref name="bodies"/> is given (answers checked), plain GETs of <paramref name="path"/> otherwise.</summary>
    private static async Task<Result> HttpPhaseAsync(Uri baseAddress, int clients, double seconds, Body[]? bodies, float[][] expected, string path)
    {
        var http = Enumerable.Range(0, clients).Select(_ => new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) }).ToList();
        try
        {
            static HttpContent Content(Body b)
            {
                var c = new ByteArrayContent(b.Bytes) { Headers = { ContentType = new(b.HeaderLength is null ? "application/json" : "application/octet-stream") } };
                if (b.HeaderLength is { } h) c.Headers.Add("Inference-Header-Content-Length", h.ToString(CultureInfo.InvariantCulture));
                return c;
            }
            Task<HttpResponseMessage> Send(HttpClient c, int i) => bodies is null ? c.GetAsync(path) : c.PostAsync(path, Content(bodies[i]));
            await Task.WhenAll(http.Select(c => Send(c, 0)));
            var statuses = new ConcurrentDictionary<int, int>();
            var latencies = new List<double>[clients];
            var transport = 0;
            var wrong = 0;
            var clock = Stopwatch.StartNew();
            await Task.WhenAll(http.Select((client, c) => Task.Run(async () =>
            {
                latencies[c] = [];
                for (var n = c; clock.Elapsed.TotalSeconds < seconds; n++)
                {
                    var i = n % expected.Length;
                    var start = Stopwatch.GetTimestamp();
                    try
                    {
                        using var r = await Send(client, i);
                        var text = await r.Content.ReadAsByteArrayAsync();
                        latencies[c].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                        statuses.AddOrUpdate((int)r.StatusCode, 1, (_, k) => k + 1);
                        if (!r.IsSuccessStatusCode || bodies is null) continue;
                        var got = JsonDocument.Parse(text).RootElement.GetProperty("outputs")[0].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
                        if (got.Length != expected[i].Length || got.Zip(expected[i]).Any(p => Math.Abs(p.First - p.Second) > 1e-5)) Interlocked.Increment(ref wrong);
                    }
                    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                    {
                        Interlocked.Increment(ref transport);
                    }
                }
            })));
            return Summarise(latencies, clock.Elapsed.TotalSeconds, statuses, transport, wrong);
        }
        finally
        {
            foreach (var c in http) c.Dispose();
        }
    }

    private static async Task<Result> EnginePhaseAsync(InferenceEngine engine, ModelVersion version, NamedTensor[] tensors, int callers, double seconds)
    {
        var latencies = new List<double>[callers];
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            latencies[c] = [];
            for (var n = c; clock.Elapsed.TotalSeconds < seconds; n++)
            {
                var start = Stopwatch.GetTimestamp();
                await engine.InferAsync(version, [tensors[n % tensors.Length]]);
                latencies[c].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        })));
        return Summarise(latencies, clock.Elapsed.TotalSeconds, new Dictionary<int, int>(), 0, 0);
    }

    private static Result Summarise(List<double>[] latencies, double elapsed, IReadOnlyDictionary<int, int> statuses, int transport, int wrong)
    {
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new Result(all.Length, all.Length / elapsed, all[all.Length / 2], all[(int)(all.Length * 0.99)], statuses, transport, wrong);
    }
}
