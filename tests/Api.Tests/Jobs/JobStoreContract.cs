using System.Collections.Concurrent;
using NeuralService.Api.Jobs;
using NeuralService.Inference.Tests.Support;

namespace NeuralService.Api.Tests.Jobs;

/// <summary>What replicas rely on from the job store, checked on SQLite and on PostgreSQL.</summary>
public abstract class JobStoreContract
{
    protected abstract JobStore Open();
    /// <summary>Runs SQL on the store's database before any store opens it.</summary>
    protected abstract void Execute(string sql);

    /// <summary>The table as the first release wrote it: no owner, lease or cancel columns.</summary>
    [SkippableFact]
    public void ATableFromTheFirstReleaseIsUpgradedAndItsQueuedJobsRun()
    {
        var body = System.Text.Json.JsonSerializer.Serialize(Queued("job-old"), JobJson.Options).Replace("'", "''");
        Execute("CREATE TABLE api_jobs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, state TEXT NOT NULL, body TEXT NOT NULL)");
        Execute($"INSERT INTO api_jobs (id, created_at, state, body) VALUES ('job-old', '2026-01-01T00:00:00.0000000Z', 'Queued', '{body}')");
        using var store = Open();
        Assert.Equal("job-old", store.Claim("w")!.Id);
        Assert.Equal((true, false), store.Heartbeat("job-old", "w"));
        using var again = Open(); // a second start finds the columns there
        Assert.Single(again.Running());
    }

    private static Job Queued(string id, int minutesAgo = 0) =>
        new(id, JobState.Queued, new JobRequest(null, null, "d", null, null, "cpu", "m"), DateTimeOffset.UtcNow.AddMinutes(-minutesAgo));

    [SkippableFact]
    public void ConcurrentClaimersTakeEveryJobExactlyOnceOldestFirst()
    {
        using var store = Open();
        for (var i = 0; i < 24; i++) store.Insert(Queued($"job-{i:D2}", 100 - i));
        var claimed = new ConcurrentBag<(string Owner, string Id)>();
        Parallel.For(0, 6, new ParallelOptions { MaxDegreeOfParallelism = 6 }, w =>
        {
            using var own = Open();
            while (own.Claim($"w{w}") is { } job) claimed.Add(($"w{w}", job.Id));
        });
        Assert.Equal(24, claimed.Count);
        Assert.Equal(24, claimed.Select(c => c.Id).Distinct().Count());
        Assert.Empty(store.List(JobState.Queued));
        var running = store.Running();
        Assert.All(running, r => Assert.Equal(claimed.Single(c => c.Id == r.Job.Id).Owner, r.Owner));
        Assert.All(running, r => Assert.Equal(1, r.Job.Attempts));
        Assert.Null(store.Claim("late"));
    }

    [SkippableFact]
    public void OnlyTheOwnerWritesAndCancelRequestsReachIt()
    {
        using var store = Open();
        store.Insert(Queued("job-a"));
        var job = store.Claim("owner-1")!;
        Assert.Equal("owner-1", job.Worker);
        Assert.True(store.Update(job with { Epoch = 1 }, "owner-1"));
        Assert.False(store.Update(job with { Epoch = 9 }, "intruder"));
        Assert.Equal(1, store.Get("job-a")!.Epoch);

        Assert.Equal((true, false), store.Heartbeat("job-a", "owner-1"));
        Assert.Equal((false, false), store.Heartbeat("job-a", "intruder"));
        Assert.True(store.RequestCancel("job-a"));
        Assert.Equal((true, true), store.Heartbeat("job-a", "owner-1"));

        // A reaper only takes a job whose lease is older than its cut-off.
        var requeued = job with { State = JobState.Queued };
        Assert.False(store.Transition(requeued, JobState.Running, "owner-1", staleBeforeMs: JobStore.NowMs() - 60_000));
        Assert.True(store.Transition(requeued, JobState.Running, "owner-1", staleBeforeMs: JobStore.NowMs() + 1));
        Assert.False(store.Update(job with { State = JobState.Succeeded }, "owner-1"));
        Assert.Equal(JobState.Queued, store.Get("job-a")!.State);
        Assert.Equal(2, store.Claim("owner-2")!.Attempts);
        Assert.Equal((false, false), store.Heartbeat("job-a", "owner-1"));
    }

    [SkippableFact]
    public void AKubernetesLaunchedJobIsAdoptedOnceByItsWorker()
    {
        using var store = Open();
        store.Insert(Queued("job-k"));
        store.Claim(JobOwner.Kubernetes("job-k"), "job-k");
        Assert.Null(store.Adopt("job-k", JobOwner.Kubernetes("other"), "pod-1"));
        Assert.Equal("pod-1", store.Adopt("job-k", JobOwner.Kubernetes("job-k"), "pod-1")!.Worker);
        Assert.Null(store.Adopt("job-k", JobOwner.Kubernetes("job-k"), "pod-2"));
        Assert.Equal("pod-1", store.Running().Single().Owner);
    }
}

public sealed class SqliteJobStoreTests : JobStoreContract, IDisposable
{
    private readonly Support.TempDir _dir = new();
    protected override JobStore Open() => new SqliteJobStore(Path.Combine(_dir.Path, "registry.db"));

    protected override void Execute(string sql)
    {
        using var c = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(_dir.Path, "registry.db")};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }
    public void Dispose() => _dir.Dispose();
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresJobStoreTests(PostgresServer server) : JobStoreContract
{
    private string? _database;

    protected override JobStore Open() => new PostgresJobStore(Database());

    private string Database()
    {
        server.Require();
        return _database ??= server.NewDatabase();
    }

    protected override void Execute(string sql)
    {
        using var c = new Npgsql.NpgsqlConnection(Database());
        c.Open();
        using var cmd = new Npgsql.NpgsqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }
}
