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
        // Events start with the first state change after the upgrade.
        Assert.Equal([(1L, "state")], again.Events("job-old").Select(e => (e.Id, e.Type)));
        Assert.Equal(1, again.LastEventId("job-old"));
    }

    private static JobProgress Batch(string id, int epoch, int batch, int attempt = 1) =>
        new(id, epoch, 9, batch, 100, batch, batch * 8L, 100, 5, new Dictionary<string, double> { ["loss"] = 1.0 / batch }, attempt, DateTimeOffset.UtcNow);

    private static JobEpochEvent EpochEnd(string id, int epoch) =>
        new(id, epoch, 9, new Dictionary<string, double> { ["loss"] = 0.5, ["val_loss"] = 0.6 }, 10, 0.001, 1.5, 800, DateTimeOffset.UtcNow);

    [SkippableFact]
    public void EveryStateChangeEpochAndBatchIsAnEventNumberedPerJobAndOnlyTheOwnerReports()
    {
        using var store = Open();
        store.Insert(Queued("job-e"));
        store.Insert(Queued("job-f", 1));
        var job = store.Claim("owner-1", "job-e")!;
        Assert.Equal(3, store.AppendProgress(Batch("job-e", 1, 1), "owner-1"));
        Assert.Null(store.AppendProgress(Batch("job-e", 1, 2), "intruder"));
        Assert.True(store.Update(job with { Epoch = 1 }, "owner-1", EpochEnd("job-e", 1)));
        Assert.False(store.Update(job with { Epoch = 2 }, "intruder", EpochEnd("job-e", 2)));
        Assert.True(store.Update(job with { Epoch = 1, State = JobState.Succeeded, RegisteredModel = "m", RegisteredVersion = 3 }, "owner-1"));
        Assert.Null(store.AppendProgress(Batch("job-e", 2, 1), "owner-1")); // ended: nothing more from its run

        var events = store.Events("job-e");
        Assert.Equal([(1L, "state"), (2L, "state"), (3L, "batch"), (4L, "epoch"), (5L, "state")], events.Select(e => (e.Id, e.Type)));
        Assert.Equal(5, store.LastEventId("job-e"));
        Assert.Equal([3L, 4L, 5L], store.Events("job-e", after: 2).Select(e => e.Id));
        Assert.Equal([1L], store.Events("job-e", limit: 1).Select(e => e.Id));
        Assert.Equal([1L], store.Events("job-f").Select(e => e.Id)); // each job counts its own
        Assert.Null(store.LastEventId("job-none"));

        // State events are lean: no request, no history.
        var ended = System.Text.Json.JsonDocument.Parse(events[4].Data).RootElement;
        Assert.Equal("succeeded", ended.GetProperty("state").GetString());
        Assert.Equal("job-e", ended.GetProperty("job_id").GetString());
        Assert.Equal(3, ended.GetProperty("registered_version").GetInt32());
        Assert.False(ended.TryGetProperty("request", out _));
        Assert.False(ended.TryGetProperty("history", out _));
        var epoch = System.Text.Json.JsonDocument.Parse(events[3].Data).RootElement;
        Assert.Equal(0.6, epoch.GetProperty("metrics").GetProperty("val_loss").GetDouble());
        Assert.Equal(1.0, store.LatestProgress("job-e")!.Metrics["loss"]);

        // A queued job canceled and a running one requeued each say so.
        Assert.True(store.Transition(store.Get("job-f")! with { State = JobState.Canceled }, JobState.Queued));
        Assert.Equal("canceled", System.Text.Json.JsonDocument.Parse(store.Events("job-f", 1).Single().Data).RootElement.GetProperty("state").GetString());
        Assert.Equal(2, store.DeleteEvents("job-f"));
        Assert.Empty(store.Events("job-f"));
    }

    [SkippableFact]
    public void LogLinesAreNumberedPerJobKeptAfterTheEndAndGoWithTheJob()
    {
        using var store = Open();
        store.Insert(Queued("job-l"));
        store.Insert(Queued("job-m", 1));
        var t = DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000);
        Assert.Equal(1, store.AppendLog("job-l", t, "information", "started"));
        Assert.Equal(1, store.AppendLog("job-m", t, "information", "other")); // each job counts its own
        Assert.Equal(2, store.AppendLog("job-l", t.AddSeconds(1), "warning", new string('x', JobStore.MaxLogMessageChars + 10)));
        Assert.Null(store.AppendLog("job-none", t, "information", "nobody")); // no job, no line
        // Log lines are not events: the event stream and its numbering are untouched.
        Assert.Equal([1L], store.Events("job-l").Select(e => e.Id));

        var lines = store.Logs("job-l");
        Assert.Equal([(1L, "information", "started")], lines.Take(1).Select(l => (l.Id, l.Level, l.Message)));
        Assert.Equal(t.AddSeconds(1), lines[1].Time);
        Assert.Equal(JobStore.MaxLogMessageChars + 1, lines[1].Message.Length); // cut, with an ellipsis
        Assert.Equal([2L], store.Logs("job-l", after: 1).Select(l => l.Id));
        Assert.Equal([1L], store.Logs("job-l", limit: 1).Select(l => l.Id));

        Assert.True(store.Transition(store.Get("job-l")! with { State = JobState.Canceled }, JobState.Queued));
        Assert.Equal(3, store.AppendLog("job-l", t, "information", "ended"));
        Assert.True(store.Delete("job-l"));
        Assert.Equal(3, store.DeleteLogs("job-l"));
        Assert.Empty(store.Logs("job-l"));
        Assert.Single(store.Logs("job-m"));
    }

    [SkippableFact]
    public void ConcurrentWritersNeverLetAReaderSeeAGap()
    {
        using var store = Open();
        store.Insert(Queued("job-c"));
        var job = store.Claim("owner-1", "job-c")!;
        const int writers = 4, each = 25;
        var done = 0;
        var seen = new List<long>();
        var reader = Task.Run(() =>
        {
            using var own = Open();
            long after = 0;
            while (Volatile.Read(ref done) < writers || after < 2 + writers * each)
            {
                var page = own.Events("job-c", after);
                // Each read continues exactly where the last one stopped: an id is never committed after a larger one.
                Assert.Equal(Enumerable.Range(0, page.Count).Select(i => after + 1 + i), page.Select(e => e.Id));
                if (page.Count > 0) after = page[^1].Id;
                seen.AddRange(page.Select(e => e.Id));
            }
        });
        Parallel.For(0, writers, new ParallelOptions { MaxDegreeOfParallelism = writers }, w =>
        {
            using var own = Open();
            for (var i = 0; i < each; i++)
                if (w % 2 == 0) Assert.NotNull(own.AppendProgress(Batch("job-c", 1000, i + 1), "owner-1"));
                else Assert.True(own.Update(job, "owner-1", EpochEnd("job-c", i + 1)));
            Interlocked.Increment(ref done);
        });
        Assert.True(reader.Wait(TimeSpan.FromSeconds(60)));
        reader.GetAwaiter().GetResult();
        Assert.Equal(Enumerable.Range(1, 2 + writers * each).Select(i => (long)i), seen);
    }

    [SkippableFact]
    public void BatchEventsOfAnEndedEpochAreThinnedAndEpochEventsKept()
    {
        using var store = Open();
        store.Insert(Queued("job-t"));
        var job = store.Claim("owner-1", "job-t")!;
        for (var b = 1; b <= 50; b++) store.AppendProgress(Batch("job-t", 1, b), "owner-1");
        Assert.True(store.Update(job with { Epoch = 1 }, "owner-1", EpochEnd("job-t", 1)));
        for (var b = 1; b <= 5; b++) store.AppendProgress(Batch("job-t", 2, b), "owner-1");

        var events = store.Events("job-t");
        var epoch1 = events.Where(e => e.Type == "batch" && e.Data.Contains("\"epoch\":1,", StringComparison.Ordinal)).ToList();
        Assert.Equal(JobStore.BatchEventsKeptPerEpoch, epoch1.Count);
        Assert.Equal(3, epoch1[0].Id); // the epoch's first and last batch stay
        Assert.Equal(52, epoch1[^1].Id);
        Assert.Equal(5, events.Count(e => e.Type == "batch" && e.Data.Contains("\"epoch\":2,", StringComparison.Ordinal))); // the epoch under way is whole
        Assert.Single(events, e => e.Type == "epoch");
        Assert.Equal(58, store.LastEventId("job-t"));
        Assert.Equal(events.Select(e => e.Id).Order(), events.Select(e => e.Id));
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
