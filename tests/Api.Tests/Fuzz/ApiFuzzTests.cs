using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace NeuralService.Api.Tests.Fuzz;

/// <summary>Generated hostile and careless requests against the real service over TCP, for every operation of its
/// OpenAPI document (read from the running service, so a new endpoint is fuzzed without touching this suite). Every
/// answer must be 2xx, or 4xx application/problem+json with a parseable body; never 5xx; and a refused request must
/// leave the store (models and versions, datasets, jobs, files) as it was. Each category prints its case counts and
/// seed; a failure names the seed and case index that reproduce it (see <see cref="FuzzSettings"/>).</summary>
public sealed class ApiFuzzTests(FuzzService service, ITestOutputHelper output) : IClassFixture<FuzzService>
{
    private readonly FuzzService _s = service;

    [Fact]
    public Task JsonBodies()
    {
        var ops = _s.Operations.Where(o => o.JsonExample is not null).ToList();
        return RunAsync("json", ops, (rng, op, index) =>
        {
            var (body, what) = new JsonMutator(rng).Mutate(op.JsonExample);
            var contentType = rng.Next(12) == 0
                ? new[] { "text/plain", "application/xml", "multipart/form-data", "application/json; charset=latin1", "application/x-www-form-urlencoded", "application/problem+json" }[rng.Next(6)]
                : "application/json";
            return new FuzzRequest(op.Method, _s.GoodTarget(op, rng), contentType, body, op.Id, contentType == "application/json" ? what : $"{what}; as {contentType}");
        });
    }

    [Fact]
    public Task OnnxUploads()
    {
        var ops = _s.Operations.Where(o => o.Has("application/octet-stream") && !o.Parameters.Any(p => p.In == "header")).ToList();
        return RunAsync("onnx", ops, (rng, op, index) =>
        {
            var (bytes, what) = new OnnxMutator(rng, _s.Onnx).Mutate();
            var target = FuzzService.Target(op, p => p == "name" ? "fuzz-onnx" : Uri.EscapeDataString(_s.GoodValue(op, p, rng)));
            if (op.Has("multipart/form-data") && rng.Next(4) == 0)
            {
                var (ct, form) = Multipart.Write([Part.File("file", "model.onnx", bytes)]);
                return new FuzzRequest(op.Method, target, ct, form, op.Id, what + "; as multipart");
            }
            return new FuzzRequest(op.Method, target, "application/octet-stream", bytes, op.Id, what);
        });
    }

    [Fact]
    public Task KserveBinaryBodies()
    {
        var ops = _s.Operations.Where(o => o.Has("application/octet-stream") && o.Parameters.Any(p => p.In == "header")).ToList();
        return RunAsync("kserve-binary", ops, (rng, op, index) =>
        {
            var (body, headers, contentType, what) = new KserveBodies(rng).Next(op.JsonExample);
            return new FuzzRequest(op.Method, _s.GoodTarget(op, rng), contentType, body, headers, op.Id, what);
        });
    }

    [Fact]
    public Task DataFileUploads()
    {
        var ops = _s.Operations.Where(o => o.FormSchema?["properties"]?["labels"] is not null).ToList();
        return RunAsync("data-files", ops, (rng, op, index) =>
        {
            var u = new DataFiles(rng).Next();
            var parts = new List<Part> { Part.File("file", u.FileName, u.File), Part.Field("name", $"fuzz-data{index}") };
            if (u.Labels is not null) parts.Add(Part.File("labels", u.LabelsName!, u.Labels));
            parts.AddRange(u.Fields.Select(f => Part.Field(f.Name, f.Value)));
            var (ct, form) = Multipart.Write(parts);
            return new FuzzRequest(op.Method, _s.GoodTarget(op, rng), ct, form, op.Id, u.What);
        });
    }

    [Fact]
    public Task MultipartForms()
    {
        var ops = _s.Operations.Where(o => o.FormExample is not null).ToList();
        return RunAsync("multipart", ops, (rng, op, index) =>
        {
            var (ct, form, what) = Multipart.Mutate(rng, _s.GoodForm(op, index));
            return new FuzzRequest(op.Method, _s.GoodTarget(op, rng), ct, form, op.Id, what);
        });
    }

    [Fact]
    public Task PathAndQueryParameters()
    {
        var ops = _s.Operations.ToList();
        return RunAsync("paths", ops, (rng, op, index) =>
        {
            var what = new List<string>();
            var target = FuzzService.Target(op, p =>
            {
                if (rng.Next(3) == 0) return Uri.EscapeDataString(_s.GoodValue(op, p, rng));
                var odd = PathValues.Pick(rng, _s.GoodValue(op, p, rng));
                what.Add($"{p}='{(odd.Length > 40 ? odd[..40] + "…" : odd)}'");
                return odd;
            });
            var query = new List<string>();
            foreach (var (name, where) in op.Parameters.Where(p => p.In == "query"))
            {
                if (rng.Next(3) == 0) continue;
                var value = rng.Next(3) == 0 ? Uri.EscapeDataString(_s.GoodValue(op, name, rng)) : PathValues.OddQuery[rng.Next(PathValues.OddQuery.Length)];
                query.Add($"{name}={value}");
                what.Add($"?{name}={(value.Length > 40 ? value[..40] + "…" : value)}");
            }
            if (rng.Next(6) == 0)
            {
                query.Add(rng.Next(2) == 0 ? "unknown=1" : "version=1&version=2");
                what.Add($"?{query[^1]}");
            }
            if (query.Count > 0) target += (target.Contains('?') ? "&" : "?") + string.Join("&", query);
            var (contentType, body) = ValidBody(op, index);
            var method = op.Method;
            var undocumented = new[] { "GET", "PUT", "POST", "DELETE", "PATCH" }.Except(ops.Where(o => o.Path == op.Path).Select(o => o.Method)).ToList();
            if (rng.Next(10) == 0 && undocumented.Count > 0)
            {
                method = undocumented[rng.Next(undocumented.Count)];
                what.Add($"method {method}");
            }
            return new FuzzRequest(method, target, contentType, body, op.Id, what.Count == 0 ? "valid values" : string.Join(", ", what));
        });
    }

    /// <summary>A body the operation accepts, so only the parameters are wrong.</summary>
    private (string?, byte[]?) ValidBody(Operation op, int index)
    {
        if (op.JsonExample is { } json) return ("application/json", Encoding.UTF8.GetBytes(json.ToJsonString()));
        if (op.Has("application/octet-stream")) return ("application/octet-stream", _s.Onnx);
        if (op.FormExample is not null) { var (ct, form) = Multipart.Write(_s.GoodForm(op, index)); return (ct, form); }
        return (null, null);
    }

    private async Task RunAsync(string category, IReadOnlyList<Operation> ops, Func<Random, Operation, int, FuzzRequest> generate)
    {
        Assert.NotEmpty(ops);
        var clock = Stopwatch.StartNew();
        var failures = new List<string>();
        var byClass = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var byOperation = ops.ToDictionary(o => o.Id, _ => 0);
        var ran = 0;
        _s.SendTime = _s.CheckTime = TimeSpan.Zero;
        foreach (var index in FuzzSettings.Indices(category, FuzzSettings.Cases))
        {
            // Round robin over the operations, so every one gets cases whatever the count.
            var op = ops[index % ops.Count];
            FuzzRequest request;
            try { request = generate(FuzzSettings.Rng(category, index), op, index); }
            catch (Exception e)
            {
                failures.Add($"[{category} #{index}, seed {FuzzSettings.Seed}] the generator failed: {e}\n  {FuzzSettings.Repro(category, index)}");
                continue;
            }
            var outcome = await _s.CheckAsync(request);
            ran++;
            byOperation[op.Id]++;
            var cls = outcome.Status == 0 ? "none" : $"{outcome.Status / 100}xx";
            byClass[cls] = byClass.GetValueOrDefault(cls) + 1;
            if (outcome.Failure is not null)
            {
                var message = $"[{category} #{index}, seed {FuzzSettings.Seed}] {outcome.Failure}\n  request: {request.Describe()}\n  {FuzzSettings.Repro(category, index)}";
                failures.Add(message);
                output.WriteLine("FAIL " + message);
            }
        }
        output.WriteLine($"fuzz {category}: {ran} cases in {clock.Elapsed.TotalSeconds:F1} s, seed {FuzzSettings.Seed} "
            + $"({string.Join(", ", byClass.Select(c => $"{c.Key}: {c.Value}"))}; {failures.Count} failing)");
        output.WriteLine($"  requests {_s.SendTime.TotalSeconds:F1} s, answer and store checks {_s.CheckTime.TotalSeconds:F1} s");
        output.WriteLine($"  store now: {await _s.SummaryAsync()}");
        output.WriteLine("  per operation: " + string.Join(", ", byOperation.Select(o => $"{o.Key} {o.Value}")));
        if (FuzzSettings.Only is null && FuzzSettings.Cases >= ops.Count)
            Assert.All(byOperation, o => Assert.True(o.Value > 0, $"operation {o.Key} got no {category} case"));
        Assert.True(failures.Count == 0, $"{failures.Count} of {ran} {category} cases failed (seed {FuzzSettings.Seed}):\n\n" + string.Join("\n\n", failures.Take(12)));
    }
}
