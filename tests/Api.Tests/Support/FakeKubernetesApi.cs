using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using k8s;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace NeuralService.Api.Tests.Support;

/// <summary>The batch/v1 Jobs part of a Kubernetes API server on a free loopback port: POST, GET and DELETE of
/// <c>/apis/batch/v1/namespaces/{ns}/jobs[/{name}]</c>, answering as the real one does (201 with the stored object,
/// 409/404 <c>Status</c> objects, 403 for a namespace marked forbidden). It keeps every JSON body it received.</summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<(string Ns, string Name), JsonObject> _jobs = new();
    private readonly ConcurrentQueue<JsonObject> _created = new();
    private readonly ConcurrentQueue<Received> _requests = new();
    private readonly ConcurrentDictionary<string, bool> _forbidden = new();
    private int _uid;

    /// <summary>One request as it arrived: method, path, query string and body (null when it had none).</summary>
    public sealed record Received(string Method, string Path, string Query, JsonObject? Body);

    private FakeKubernetesApi(WebApplication app) => _app = app;

    public static async Task<FakeKubernetesApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var fake = new FakeKubernetesApi(app);
        app.MapPost("/apis/batch/v1/namespaces/{ns}/jobs", fake.Create);
        app.MapGet("/apis/batch/v1/namespaces/{ns}/jobs/{name}", fake.Read);
        app.MapDelete("/apis/batch/v1/namespaces/{ns}/jobs/{name}", fake.Delete);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        fake.BaseAddress = new Uri(address);
        if (!fake.BaseAddress.IsLoopback) throw new InvalidOperationException($"fake Kubernetes API bound to {address}, not loopback");
        return fake;
    }

    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The real KubernetesClient, talking plain HTTP to this server.</summary>
    public IKubernetes NewClient() => new k8s.Kubernetes(new KubernetesClientConfiguration { Host = BaseAddress.ToString() });

    /// <summary>Bodies of the POSTs that created a Job, in order (duplicates that got 409 are not here).</summary>
    public IReadOnlyList<JsonObject> Created => [.. _created];

    public IReadOnlyList<Received> Requests => [.. _requests];

    public int Count => _jobs.Count;

    public JsonObject? Stored(string ns, string name) => _jobs.TryGetValue((ns, name), out var job) ? job : null;

    /// <summary>Puts a Job there as if someone else (another replica) had created it.</summary>
    public void Seed(string ns, JsonObject job)
    {
        var name = (string)job["metadata"]!["name"]!;
        Stamp(ns, job);
        _jobs[(ns, name)] = job;
    }

    /// <summary>Replaces the Job's <c>status</c> as the job controller would.</summary>
    public void SetStatus(string ns, string name, JsonObject status)
    {
        if (!_jobs.TryGetValue((ns, name), out var job)) throw new InvalidOperationException($"no job {ns}/{name}");
        lock (job) job["status"] = status;
    }

    /// <summary>Every request into <paramref name="ns"/> gets 403, as when the service account lacks the RBAC rule.</summary>
    public void Forbid(string ns) => _forbidden[ns] = true;

    private async Task<IResult> Create(string ns, HttpRequest request)
    {
        var body = await ReadBody(request);
        _requests.Enqueue(new Received("POST", request.Path, request.QueryString.Value ?? "", body?.DeepClone().AsObject()));
        if (_forbidden.ContainsKey(ns)) return Forbidden(ns, "create", null);
        if (body?["metadata"]?["name"]?.GetValue<string>() is not { Length: > 0 } name)
            return Status(HttpStatusCode.UnprocessableEntity, "Invalid", "Job.batch \"\" is invalid: metadata.name: Required value: name or generateName is required", null);
        if (body["metadata"]!["namespace"]?.GetValue<string>() is { } bodyNs && bodyNs != ns)
            return Status(HttpStatusCode.BadRequest, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request", null);
        var stored = body.DeepClone().AsObject();
        Stamp(ns, stored);
        if (!_jobs.TryAdd((ns, name), stored))
            return Status(HttpStatusCode.Conflict, "AlreadyExists", $"jobs.batch \"{name}\" already exists", name);
        _created.Enqueue(body);
        return Results.Text(stored.ToJsonString(), "application/json", statusCode: StatusCodes.Status201Created);
    }

    private IResult Read(string ns, string name, HttpRequest request)
    {
        _requests.Enqueue(new Received("GET", request.Path, request.QueryString.Value ?? "", null));
        if (_forbidden.ContainsKey(ns)) return Forbidden(ns, "get", name);
        if (!_jobs.TryGetValue((ns, name), out var job)) return NotFound(name);
        lock (job) return Results.Text(job.ToJsonString(), "application/json");
    }

    private async Task<IResult> Delete(string ns, string name, HttpRequest request)
    {
        var body = await ReadBody(request);
        _requests.Enqueue(new Received("DELETE", request.Path, request.QueryString.Value ?? "", body));
        if (_forbidden.ContainsKey(ns)) return Forbidden(ns, "delete", name);
        if (!_jobs.TryRemove((ns, name), out var job)) return NotFound(name);
        var ok = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Success",
            ["details"] = new JsonObject { ["name"] = name, ["group"] = "batch", ["kind"] = "jobs", ["uid"] = job["metadata"]!["uid"]!.DeepClone() },
        };
        return Results.Text(ok.ToJsonString(), "application/json");
    }

    private void Stamp(string ns, JsonObject job)
    {
        var meta = job["metadata"]!.AsObject();
        meta["namespace"] = ns;
        meta["uid"] ??= $"00000000-0000-0000-0000-{Interlocked.Increment(ref _uid):D12}";
        meta["resourceVersion"] = "1";
        meta["creationTimestamp"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ");
        job["status"] ??= new JsonObject();
    }

    private static async Task<JsonObject?> ReadBody(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync();
        return text.Length == 0 ? null : JsonNode.Parse(text)!.AsObject();
    }

    private static IResult NotFound(string name) => Status(HttpStatusCode.NotFound, "NotFound", $"jobs.batch \"{name}\" not found", name);

    private static IResult Forbidden(string ns, string verb, string? name) => Status(HttpStatusCode.Forbidden, "Forbidden",
        $"jobs.batch {(name is null ? "" : $"\"{name}\" ")}is forbidden: User \"system:serviceaccount:{ns}:neural-service\" cannot {verb} resource \"jobs\" in API group \"batch\" in the namespace \"{ns}\"", name);

    private static IResult Status(HttpStatusCode code, string reason, string message, string? name)
    {
        var status = new JsonObject
        {
            ["kind"] = "Status",
            ["apiVersion"] = "v1",
            ["metadata"] = new JsonObject(),
            ["status"] = "Failure",
            ["message"] = message,
            ["reason"] = reason,
            ["details"] = new JsonObject { ["name"] = name, ["group"] = "batch", ["kind"] = "jobs" },
            ["code"] = (int)code,
        };
        return Results.Text(status.ToJsonString(), "application/json", statusCode: (int)code);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
