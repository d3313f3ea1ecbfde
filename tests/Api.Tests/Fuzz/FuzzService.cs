using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Fuzz;

/// <summary>One operation of the served OpenAPI document, as the fuzzer needs it.</summary>
public sealed record Operation(string Method, string Path, string Id, IReadOnlyList<(string Name, string In)> Parameters,
    IReadOnlyList<string> ContentTypes, JsonNode? JsonExample, JsonObject? FormExample, JsonObject? FormSchema)
{
    public bool Has(string contentType) => ContentTypes.Contains(contentType);
    public override string ToString() => $"{Method} {Path}";
}

/// <summary>The real service on a loopback Kestrel port, with a model <c>mlp</c> (alias <c>production</c>), a dataset
/// <c>blobs</c> and a canceled job, matching the OpenAPI document's example bodies, so that valid bodies get far into
/// the service and their mutations fail deep inside it. It sends each generated request, checks the answer, and
/// compares the store before and after every refused request.</summary>
public sealed class FuzzService : IDisposable
{
    private static readonly string[] Methods = ["get", "put", "post", "delete", "patch"];
    private readonly TempDir _root = new();
    private Snapshot _current;

    public FuzzService()
    {
        DataDirectory = Path.Combine(_root.Path, "data");
        Directory.CreateDirectory(DataDirectory);
        // One client sends every case: the per-client rate limit would answer 429 to most of them.
        Api = new KestrelApi(DataDirectory, new Dictionary<string, string?> { ["Neural:RateLimit:PermitLimit"] = "100000000" });
        Client = Api.NewClient(TimeSpan.FromSeconds(60));
        Onnx = TestModels.DenseOnnx();
        Document = JsonNode.Parse(Client.GetStringAsync("/swagger/v1/swagger.json").GetAwaiter().GetResult())!.AsObject();
        Operations = ReadOperations(Document);
        EnsureFixturesAsync().GetAwaiter().GetResult();
        _current = Snapshot.TakeAsync(this).GetAwaiter().GetResult();
    }

    public string DataDirectory { get; }
    public KestrelApi Api { get; }
    public HttpClient Client { get; }
    public byte[] Onnx { get; }
    public JsonObject Document { get; }
    public IReadOnlyList<Operation> Operations { get; }
    public int ModelVersion { get; private set; } = 1;
    public string DatasetId { get; private set; } = "";
    public string JobId { get; private set; } = "";

    /// <summary>A value the service accepts for a path or query parameter of <paramref name="op"/>.</summary>
    public string GoodValue(Operation op, string parameter, Random rng) => parameter switch
    {
        "name" => "mlp",
        "version" => rng.Next(3) switch { 0 => ModelVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), 1 => "latest", _ => "production" },
        "alias" => "production",
        "id" when op.Path.StartsWith("/v1/datasets", StringComparison.Ordinal) => rng.Next(3) == 0 ? "blobs" : DatasetId,
        "id" when op.Path.StartsWith("/v1/jobs", StringComparison.Ordinal) => JobId,
        "force" => rng.Next(2) == 0 ? "true" : "false",
        "description" => "fuzz",
        _ => "x",
    };

    /// <summary>The operation's path with every path parameter given by <paramref name="value"/>.</summary>
    public static string Target(Operation op, Func<string, string> value)
    {
        var path = op.Path;
        foreach (var (name, where) in op.Parameters)
            if (where == "path") path = path.Replace("{" + name + "}", value(name), StringComparison.Ordinal);
        return path;
    }

    /// <summary>The operation's path with valid parameter values.</summary>
    public string GoodTarget(Operation op, Random rng) => Target(op, p => Uri.EscapeDataString(GoodValue(op, p, rng)));

    /// <summary>A valid form for a multipart operation, from its example: file fields get a real file of the example
    /// name's kind (ONNX, CSV), other fields the example value (a name gets a fresh one, so accepted forms add no clash).</summary>
    public List<Part> GoodForm(Operation op, int index)
    {
        var parts = new List<Part>();
        foreach (var (field, example) in op.FormExample ?? [])
        {
            var binary = op.FormSchema?["properties"]?[field]?["format"]?.GetValue<string>() == "binary";
            var text = example is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : example?.ToJsonString() ?? "";
            if (binary) parts.Add(Part.File(field, text, FileFor(text)));
            else parts.Add(Part.Field(field, field == "name" ? $"fuzz{index}" : text));
        }
        return parts;
    }

    public byte[] FileFor(string fileName) =>
        fileName.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? Onnx
        : fileName.EndsWith(".csv", StringComparison.OrdinalIgnoreCase) ? Encoding.UTF8.GetBytes(TestModels.BlobsCsv(30))
        : [1, 2, 3];

    /// <summary>Time spent sending requests, and checking answers and the store.</summary>
    public TimeSpan SendTime { get; set; }
    public TimeSpan CheckTime { get; set; }

    public sealed record Outcome(int Status, string? Failure);

    /// <summary>Sends one case. A failure is any answer but 2xx or a 4xx problem+json (with a parseable body whose
    /// status matches, a detail, and no server path in it), no answer at all, or a refused request that changed the store.</summary>
    public async Task<Outcome> CheckAsync(FuzzRequest r)
    {
        FuzzResponse response;
        var clock = Stopwatch.StartNew();
        try { response = await FuzzHttp.SendAsync(Api.BaseAddress, r, TimeSpan.FromSeconds(30)); }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException or InvalidDataException or FormatException)
        {
            await SettleAsync();
            return new Outcome(0, $"no answer: {e.GetType().Name}: {e.Message}");
        }
        SendTime += clock.Elapsed;
        clock.Restart();
        var status = response.Status;
        string? failure = null;
        // A traversal that resolves to the root lands on the front page, which redirects to the API documentation.
        var front = status is 301 or 302 && new Uri(new Uri("http://host"), r.Target).AbsolutePath == "/";
        if (!front && status is < 200 or >= 300 and < 400 or >= 500) failure = $"answered {status} ({response.MediaType}): {Excerpt(response.Text)}";
        else if (status >= 400) failure = ProblemFailure(response);
        if (status is >= 400 and < 500 && failure is null)
        {
            var after = await Snapshot.TakeAsync(this);
            if (_current.Difference(after) is not null)
            {
                // A request's own temporary files may outlive its answer by a moment; a real change stays.
                await Task.Delay(300);
                after = await Snapshot.TakeAsync(this);
            }
            if (_current.Difference(after) is { } diff) failure = $"answered {status} but the store changed: {diff}";
            _current = after;
            CheckTime += clock.Elapsed;
            if (failure is null) return new Outcome(status, null);
        }
        await SettleAsync();
        CheckTime += clock.Elapsed;
        return new Outcome(status, failure);
    }

    private string? ProblemFailure(FuzzResponse response)
    {
        var text = response.Text;
        if (response.MediaType != "application/problem+json") return $"answered {response.Status} as '{response.MediaType}', not application/problem+json: {Excerpt(text)}";
        JsonElement problem;
        try { problem = JsonDocument.Parse(text).RootElement.Clone(); }
        catch (JsonException e) { return $"answered {response.Status} with an unparseable problem body ({e.Message}): {Excerpt(text)}"; }
        if (problem.ValueKind != JsonValueKind.Object) return $"answered {response.Status} with a problem that is not an object: {Excerpt(text)}";
        if (!problem.TryGetProperty("status", out var s) || s.ValueKind != JsonValueKind.Number || s.GetInt32() != response.Status)
            return $"answered {response.Status} with a problem whose status differs: {Excerpt(text)}";
        if (!problem.TryGetProperty("detail", out var d) || d.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(d.GetString()))
            return $"answered {response.Status} with a problem without detail: {Excerpt(text)}";
        if (text.Contains(Path.GetFullPath(DataDirectory), StringComparison.Ordinal) || text.Contains(_root.Path, StringComparison.Ordinal))
            return $"answered {response.Status} quoting the server's data path: {Excerpt(text)}";
        return null;
    }

    private static string Excerpt(string s) => s.Length <= 600 ? s : s[..600] + "…";

    /// <summary>After an accepted (or failed) request: every job ended, the fixtures back in place, a fresh snapshot.</summary>
    private async Task SettleAsync()
    {
        await PruneAsync();
        await EnsureFixturesAsync();
        _current = await Snapshot.TakeAsync(this);
    }

    /// <summary>Removes what accepted cases added (jobs, datasets, models, versions and aliases of <c>mlp</c> beside the
    /// fixtures), so the store, and the cost of each snapshot, stays the same size however many cases run.</summary>
    private async Task PruneAsync()
    {
        await EndAllJobsAsync();
        foreach (var j in Items(await Client.GetStringAsync("/v1/jobs?limit=1000")))
            if (j["id"]!.GetValue<string>() is var jobId && jobId != JobId)
                await Client.DeleteAsync($"/v1/jobs/{Uri.EscapeDataString(jobId)}");
        foreach (var d in Items(await Client.GetStringAsync("/v1/datasets?limit=1000")))
            if (d["builtin"]?.GetValue<bool>() != true && d["id"]!.GetValue<string>() is var id && id != DatasetId)
                await Client.DeleteAsync($"/v1/datasets/{Uri.EscapeDataString(id)}");
        foreach (var m in Items(await Client.GetStringAsync("/v1/models?limit=1000")))
            if (m["name"]!.GetValue<string>() is var name && name != "mlp")
                await Client.DeleteAsync($"/v1/models/{Uri.EscapeDataString(name)}?force=true");
        var mlp = await Client.GetAsync("/v1/models/mlp");
        if (!mlp.IsSuccessStatusCode) return;
        var model = JsonNode.Parse(await mlp.Content.ReadAsStringAsync())!;
        var keep = model["aliases"]?["production"]?.GetValue<int>();
        foreach (var (alias, _) in model["aliases"]?.AsObject() ?? [])
            if (alias != "production") await Client.DeleteAsync($"/v1/models/mlp/aliases/{Uri.EscapeDataString(alias)}");
        foreach (var v in model["versions"]?.AsArray() ?? [])
            if (v!["version"]!.GetValue<int>() is var number && number != keep)
                await Client.DeleteAsync($"/v1/models/mlp/versions/{number}");
    }

    private async Task EnsureFixturesAsync()
    {
        var model = await Client.GetAsync("/v1/models/mlp");
        // Deleting every version of a model leaves the model, with none.
        if (model.StatusCode == HttpStatusCode.NotFound || JsonNode.Parse(await model.Content.ReadAsStringAsync())?["versions"] is JsonArray { Count: 0 })
        {
            var up = await Client.PostAsync("/v1/models/mlp/versions", TestModels.Octets(Onnx));
            Assert.True(up.StatusCode == HttpStatusCode.Created, $"fixture model upload: {(int)up.StatusCode} {await up.Content.ReadAsStringAsync()}");
            model = await Client.GetAsync("/v1/models/mlp");
        }
        var m = JsonNode.Parse(await model.Content.ReadAsStringAsync())!;
        if (m["aliases"]?["production"] is { } production) ModelVersion = production.GetValue<int>();
        else
        {
            ModelVersion = m["latest_version"]?.GetValue<int>() ?? m["versions"]!.AsArray().Max(v => v!["version"]!.GetValue<int>());
            var alias = await Client.PutAsJsonAsync("/v1/models/mlp/aliases/production", new { version = ModelVersion });
            Assert.True(alias.IsSuccessStatusCode, $"fixture alias: {(int)alias.StatusCode} {await alias.Content.ReadAsStringAsync()}");
        }

        var dataset = await Client.GetAsync("/v1/datasets/blobs");
        if (dataset.StatusCode == HttpStatusCode.NotFound)
        {
            dataset = await Client.PostAsync("/v1/datasets", TestModels.CsvUpload(TestModels.BlobsCsv(30), "blobs"));
            Assert.True(dataset.StatusCode == HttpStatusCode.Created, $"fixture dataset: {(int)dataset.StatusCode} {await dataset.Content.ReadAsStringAsync()}");
        }
        DatasetId = JsonNode.Parse(await dataset.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();

        await EndAllJobsAsync();
        if (JobId.Length == 0 || (await Client.GetAsync($"/v1/jobs/{JobId}")).StatusCode == HttpStatusCode.NotFound)
        {
            var example = Operations.Single(o => o.Id == "SubmitJob").JsonExample!.ToJsonString();
            var job = await Client.PostAsync("/v1/jobs", new StringContent(example, Encoding.UTF8, "application/json"));
            Assert.True(job.StatusCode == HttpStatusCode.Accepted, $"fixture job: {(int)job.StatusCode} {await job.Content.ReadAsStringAsync()}");
            JobId = JsonNode.Parse(await job.Content.ReadAsStringAsync())!["id"]!.GetValue<string>();
            await EndAllJobsAsync();
        }
    }

    /// <summary>Cancels every job that has not ended and waits for them: an accepted job must not change the store
    /// under a later case's snapshot.</summary>
    private async Task EndAllJobsAsync()
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var open = Items(await Client.GetStringAsync("/v1/jobs?limit=1000"))
                .Where(j => j["state"]?.GetValue<string>() is "queued" or "running").Select(j => j["id"]!.GetValue<string>()).ToList();
            if (open.Count == 0) return;
            if (clock.Elapsed > TimeSpan.FromSeconds(60)) throw new TimeoutException($"jobs {string.Join(", ", open)} did not end within 60 s of being canceled");
            foreach (var id in open) await Client.PostAsync($"/v1/jobs/{id}/cancel", null);
            await Task.Delay(50);
        }
    }

    /// <summary>The elements of a list answer, whether a bare array or an object holding one (a page).</summary>
    public static IEnumerable<JsonNode> Items(string json) => JsonNode.Parse(json) switch
    {
        JsonArray a => a.OfType<JsonNode>(),
        JsonObject o => o.Select(p => p.Value).OfType<JsonArray>().FirstOrDefault()?.OfType<JsonNode>() ?? [],
        _ => [],
    };

    private static List<Operation> ReadOperations(JsonObject doc)
    {
        var ops = new List<Operation>();
        foreach (var (path, item) in doc["paths"]!.AsObject())
            foreach (var (method, node) in item!.AsObject())
            {
                if (!Methods.Contains(method) || node is not JsonObject op) continue;
                var parameters = (op["parameters"] as JsonArray ?? []).Select(p => (p!["name"]!.GetValue<string>(), p["in"]!.GetValue<string>())).ToList();
                var content = op["requestBody"]?["content"] as JsonObject;
                ops.Add(new Operation(method.ToUpperInvariant(), path, op["operationId"]?.GetValue<string>() ?? $"{method} {path}", parameters,
                    content?.Select(c => c.Key).ToList() ?? [], content?["application/json"]?["example"]?.DeepClone(),
                    content?["multipart/form-data"]?["example"]?.DeepClone() as JsonObject,
                    Resolve(doc, content?["multipart/form-data"]?["schema"]) as JsonObject));
            }
        return ops;
    }

    private static JsonNode? Resolve(JsonObject doc, JsonNode? schema) =>
        schema?["$ref"]?.GetValue<string>() is { } r ? doc["components"]!["schemas"]![r.Split('/')[^1]] : schema;

    /// <summary>How much the store holds now (accepted cases add to it).</summary>
    public async Task<string> SummaryAsync()
    {
        var models = Items(await Client.GetStringAsync("/v1/models?limit=1000")).ToList();
        var versions = 0;
        foreach (var m in models)
            versions += JsonNode.Parse(await Client.GetStringAsync($"/v1/models/{Uri.EscapeDataString(m["name"]!.GetValue<string>())}"))!["versions"]!.AsArray().Count;
        return $"{models.Count} models, {versions} versions, {Items(await Client.GetStringAsync("/v1/datasets?limit=1000")).Count()} datasets, {Items(await Client.GetStringAsync("/v1/jobs?limit=1000")).Count()} jobs";
    }

    private readonly Dictionary<(string, long, DateTime), string> _hashes = [];

    /// <summary>A file's SHA-256, computed again only when its length or write time changed.</summary>
    private string Hash(string file)
    {
        try
        {
            var info = new FileInfo(file);
            var key = (file, info.Length, info.LastWriteTimeUtc);
            if (!_hashes.TryGetValue(key, out var hash)) _hashes[key] = hash = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)))[..16];
            return hash;
        }
        catch (IOException) { return "(gone)"; }
    }

    public void Dispose()
    {
        Client.Dispose();
        Api.Dispose();
        _root.Dispose();
    }

    /// <summary>What the service has stored: the list answers, every model with its versions, and every file of the
    /// data directory with its hash, except the databases (SQLite rewrites pages and journals freely; their contents
    /// show in the lists), the logs and the presence locks of processes (a canceled job's worker process removes its own as it
    /// exits, whenever that is).</summary>
    private sealed record Snapshot(string Models, IReadOnlyList<string> Versions, string Datasets, string Jobs, IReadOnlyList<string> Files)
    {
        public static async Task<Snapshot> TakeAsync(FuzzService s)
        {
            var models = s.Client.GetStringAsync("/v1/models?limit=1000");
            var datasets = s.Client.GetStringAsync("/v1/datasets?limit=1000");
            var jobs = s.Client.GetStringAsync("/v1/jobs?limit=1000");
            var versions = await Task.WhenAll(Items(await models).Select(m => s.Client.GetStringAsync($"/v1/models/{Uri.EscapeDataString(m["name"]!.GetValue<string>())}")));
            var files = Directory.EnumerateFiles(s.DataDirectory, "*", SearchOption.AllDirectories)
                .Select(f => Path.GetRelativePath(s.DataDirectory, f))
                .Where(f => !f.StartsWith("logs", StringComparison.Ordinal) && !f.StartsWith("presence", StringComparison.Ordinal) && !f.Contains(".db", StringComparison.Ordinal))
                .Select(f => $"{f} {s.Hash(Path.Combine(s.DataDirectory, f))}")
                .Order(StringComparer.Ordinal).ToList();
            return new Snapshot(await models, versions, await datasets, await jobs, files);
        }

        public string? Difference(Snapshot after) =>
            Models != after.Models ? $"models {Excerpt(Models)} → {Excerpt(after.Models)}"
            : !Versions.SequenceEqual(after.Versions) ? $"versions {Excerpt(string.Join(" ", Versions))} → {Excerpt(string.Join(" ", after.Versions))}"
            : Datasets != after.Datasets ? $"datasets {Excerpt(Datasets)} → {Excerpt(after.Datasets)}"
            : Jobs != after.Jobs ? $"jobs {Excerpt(Jobs)} → {Excerpt(after.Jobs)}"
            : !Files.SequenceEqual(after.Files) ? $"files added [{string.Join(", ", after.Files.Except(Files))}], removed [{string.Join(", ", Files.Except(after.Files))}]"
            : null;
    }
}
