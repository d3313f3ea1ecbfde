using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace NeuralService.Api.Jobs;

/// <summary>Jobs in the registry's database, shared by every replica. Each row keeps the whole job as JSON plus the
/// columns replicas coordinate on: <c>state</c>, <c>owner</c> (the process running it), <c>heartbeat_ms</c> and
/// <c>cancel_requested</c>. Every transition is one conditional UPDATE, so two replicas can never both claim a job and a
/// process that lost a job (its lease expired) cannot overwrite what the new owner writes. Each job's events (state
/// changes, epochs, batch progress) and its log lines are kept beside it with per-job sequences (JobStore.Events.cs,
/// JobStore.Logs.cs); a state change
/// and its event are written in one transaction.</summary>
public abstract partial class JobStore : IDisposable
{
    private const string CreateSql = """
        CREATE TABLE IF NOT EXISTS api_jobs (
          id TEXT PRIMARY KEY, created_at TEXT NOT NULL, state TEXT NOT NULL, body TEXT NOT NULL,
          owner TEXT NULL, heartbeat_ms BIGINT NOT NULL DEFAULT 0, cancel_requested INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX IF NOT EXISTS api_jobs_state_created ON api_jobs (state, created_at);
        """ + EventsSql + LogsSql;

    /// <summary>Columns added after the first release of the table, with how to add them to an older one.</summary>
    private static readonly (string Name, string Definition)[] AddedColumns =
    [
        ("owner", "owner TEXT NULL"), ("heartbeat_ms", "heartbeat_ms BIGINT NOT NULL DEFAULT 0"), ("cancel_requested", "cancel_requested INTEGER NOT NULL DEFAULT 0"),
        ("event_seq", "event_seq BIGINT NOT NULL DEFAULT 0"), ("log_seq", "log_seq BIGINT NOT NULL DEFAULT 0"),
    ];

    protected abstract DbConnection Open();

    /// <summary>Creates the table, or brings one written by an older version up to date (run under the setup lock).</summary>
    protected static void CreateOrUpgrade(DbConnection c, DbTransaction? tx)
    {
        using (var create = c.CreateCommand())
        {
            create.Transaction = tx;
            create.CommandText = CreateSql;
            create.ExecuteNonQuery();
        }
        var present = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        using (var probe = c.CreateCommand())
        {
            probe.Transaction = tx;
            probe.CommandText = "SELECT * FROM api_jobs LIMIT 0";
            using var r = probe.ExecuteReader();
            for (var i = 0; i < r.FieldCount; i++) present.Add(r.GetName(i));
        }
        foreach (var (name, definition) in AddedColumns.Where(a => !present.Contains(a.Name)))
        {
            using var alter = c.CreateCommand();
            alter.Transaction = tx;
            alter.CommandText = $"ALTER TABLE api_jobs ADD COLUMN {definition}";
            alter.ExecuteNonQuery();
        }
    }

    public virtual void Dispose() => GC.SuppressFinalize(this);

    public void Insert(Job job) => WriteWithEvents(job.Id, (c, tx) => Exec(c, tx, "INSERT INTO api_jobs (id, created_at, state, body) VALUES (@id, @created, @state, @body)",
        ("id", job.Id), ("created", job.CreatedAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)), ("state", job.State.ToString()), ("body", Body(job))) == 1,
        StateEvent(job));

    public Job? Get(string id) => Query("SELECT body FROM api_jobs WHERE id = @id", r => Parse(r.GetString(0)), ("id", id)).FirstOrDefault();

    /// <summary>Jobs in submission order. A row whose body cannot be read (written by a faulty or foreign version) is
    /// left out rather than failing the whole listing for everyone.</summary>
    public IReadOnlyList<Job> List(JobState? state = null) => (state is { } s
        ? Query("SELECT body FROM api_jobs WHERE state = @s ORDER BY created_at, id", r => TryParse(r.GetString(0)), ("s", s.ToString()))
        : Query("SELECT body FROM api_jobs ORDER BY created_at, id", r => TryParse(r.GetString(0)))).OfType<Job>().ToList();

    /// <summary>Up to <paramref name="limit"/> jobs in submission order after <paramref name="after"/> (the key of the
    /// previous page's last job, <see cref="PageKey"/>), the key of the last one, and whether more follow. The key is of
    /// the row, so an unreadable row (left out) still moves the page on.</summary>
    public (IReadOnlyList<Job> Jobs, string? LastKey, bool More) Page(string? after, int limit)
    {
        var (created, id) = after?.Split('|', 2) is [var c, var i] ? (c, i) : ("", "");
        var rows = Query("""
            SELECT created_at, id, body FROM api_jobs WHERE created_at > @c OR (created_at = @c AND id > @i)
            ORDER BY created_at, id LIMIT @n
            """, r => (Key: r.GetString(0) + "|" + r.GetString(1), Job: TryParse(r.GetString(2))), ("c", created), ("i", id), ("n", limit + 1));
        var page = rows.Take(limit).ToList();
        return (page.Select(r => r.Job).OfType<Job>().ToList(), page.Count > 0 ? page[^1].Key : null, rows.Count > limit);
    }

    /// <summary>Deletes a job that has ended; false when it is not stored or has not ended (one conditional DELETE, so a
    /// job that is queued or running, or was requeued meanwhile, is never removed).</summary>
    public bool Delete(string id) =>
        Exec("DELETE FROM api_jobs WHERE id = @id AND state IN (@s0, @s1, @s2, @s3)", ("id", id),
            ("s0", nameof(JobState.Succeeded)), ("s1", nameof(JobState.Failed)), ("s2", nameof(JobState.Canceled)), ("s3", nameof(JobState.Interrupted))) == 1;

    public int Count(JobState state) =>
        Convert.ToInt32(Query("SELECT COUNT(*) FROM api_jobs WHERE state = @s", r => r.GetValue(0), ("s", state.ToString()))[0], CultureInfo.InvariantCulture);

    /// <summary>How many jobs are in each state (states without jobs are absent).</summary>
    public IReadOnlyDictionary<JobState, int> CountByState() =>
        Query("SELECT state, COUNT(*) FROM api_jobs GROUP BY state", r => (Enum.Parse<JobState>(r.GetString(0)), Convert.ToInt32(r.GetValue(1), CultureInfo.InvariantCulture)))
            .ToDictionary(x => x.Item1, x => x.Item2);

    /// <summary>Takes the oldest queued job (or the given one) for <paramref name="owner"/>: it becomes running with a
    /// fresh heartbeat. Null when there is none, or another replica took it first.</summary>
    public Job? Claim(string owner, string? id = null) => Claim(_ => owner, id);

    /// <summary><see cref="Claim(string, string?)"/> with an owner named after the job (a Kubernetes Job per job).</summary>
    public Job? Claim(Func<string, string> ownerOf, string? id = null)
    {
        for (var attempt = 0; attempt < 8; attempt++)
        {
            var queued = id is null
                ? Query("SELECT body FROM api_jobs WHERE state = @s ORDER BY created_at, id LIMIT 1", r => Parse(r.GetString(0)), ("s", nameof(JobState.Queued))).FirstOrDefault()
                : Query("SELECT body FROM api_jobs WHERE id = @id AND state = @s", r => Parse(r.GetString(0)), ("id", id), ("s", nameof(JobState.Queued))).FirstOrDefault();
            if (queued is null) return null;
            var owner = ownerOf(queued.Id);
            var running = queued with { State = JobState.Running, StartedAt = queued.StartedAt ?? DateTimeOffset.UtcNow, Attempts = queued.Attempts + 1, Worker = owner };
            var taken = WriteWithEvents(queued.Id, (c, tx) => Exec(c, tx, """
                UPDATE api_jobs SET state = @running, owner = @owner, heartbeat_ms = @now, cancel_requested = 0, body = @body
                WHERE id = @id AND state = @queued
                """, ("running", nameof(JobState.Running)), ("owner", owner), ("now", NowMs()), ("body", Body(running)), ("id", queued.Id), ("queued", nameof(JobState.Queued))) == 1,
                StateEvent(running));
            if (taken) return running;
            if (id is not null) return null;
        }
        return null;
    }

    /// <summary>Moves a running job from <paramref name="from"/> to <paramref name="to"/> (a launched Kubernetes Job's
    /// worker adopting what the launcher claimed). False when the job is no longer running under <paramref name="from"/>.</summary>
    public Job? Adopt(string id, string from, string to)
    {
        var job = Get(id);
        if (job is not { State: JobState.Running }) return null;
        var adopted = job with { Worker = to };
        return Exec("UPDATE api_jobs SET owner = @to, heartbeat_ms = @now, body = @body WHERE id = @id AND state = @running AND owner = @from",
            ("to", to), ("now", NowMs()), ("body", Body(adopted)), ("id", id), ("running", nameof(JobState.Running)), ("from", from)) == 1 ? adopted : null;
    }

    /// <summary>Writes the owner's new view of a job it runs (progress, or its end: then with its state event). False when it
    /// is no longer the owner.</summary>
    public bool Update(Job job, string owner) => Update(job, owner, null);

    /// <summary><see cref="Update(Job, string)"/> with the epoch that just ended: its event is appended in the same
    /// transaction (so the stream and the job's history agree) and that epoch's batch events are thinned.</summary>
    public bool Update(Job job, string owner, JobEpochEvent? epoch) =>
        WriteWithEvents(job.Id, (c, tx) => Exec(c, tx, "UPDATE api_jobs SET state = @state, body = @body, heartbeat_ms = @now WHERE id = @id AND owner = @owner AND state = @running",
                ("state", job.State.ToString()), ("body", Body(job)), ("now", NowMs()), ("id", job.Id), ("owner", owner), ("running", nameof(JobState.Running))) == 1,
            [.. epoch is null ? Array.Empty<PendingEvent>() : [EpochEvent(epoch)], .. job.State == JobState.Running ? Array.Empty<PendingEvent>() : [StateEvent(job)]]);

    /// <summary>Writes <paramref name="job"/> only if the stored job is still in <paramref name="expected"/> (and, for a running
    /// job, still under <paramref name="owner"/>), clearing the owner: how a queued job is canceled and a stale one released.</summary>
    public bool Transition(Job job, JobState expected, string? owner = null, long? staleBeforeMs = null)
    {
        var args = new List<(string, object)> { ("state", job.State.ToString()), ("body", Body(job)), ("id", job.Id), ("expected", expected.ToString()) };
        var sql = "UPDATE api_jobs SET state = @state, body = @body, owner = NULL, cancel_requested = 0 WHERE id = @id AND state = @expected";
        if (owner is not null) { sql += " AND owner = @owner"; args.Add(("owner", owner)); }
        if (staleBeforeMs is { } stale) { sql += " AND heartbeat_ms < @stale"; args.Add(("stale", stale)); }
        return WriteWithEvents(job.Id, (c, tx) => Exec(c, tx, sql, [.. args]) == 1, job.State == expected ? [] : [StateEvent(job)]);
    }

    /// <summary>Refreshes the owner's lease; says whether it still owns the job and whether a cancel was asked for.</summary>
    public (bool Owned, bool CancelRequested) Heartbeat(string id, string owner)
    {
        var cancel = Query("UPDATE api_jobs SET heartbeat_ms = @now WHERE id = @id AND owner = @owner AND state = @running RETURNING cancel_requested",
            r => Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture) != 0, ("now", NowMs()), ("id", id), ("owner", owner), ("running", nameof(JobState.Running)));
        return (cancel.Count == 1, cancel is [true]);
    }

    /// <summary>Asks whoever runs the job to stop it; false when it is not running.</summary>
    public bool RequestCancel(string id) =>
        Exec("UPDATE api_jobs SET cancel_requested = 1 WHERE id = @id AND state = @running", ("id", id), ("running", nameof(JobState.Running))) == 1;

    /// <summary>The running jobs with their owner and last heartbeat, for the supervisor.</summary>
    public IReadOnlyList<(Job Job, string Owner, long HeartbeatMs, bool CancelRequested)> Running() =>
        Query("SELECT body, owner, heartbeat_ms, cancel_requested FROM api_jobs WHERE state = @running", r =>
                (Parse(r.GetString(0)), r.IsDBNull(1) ? "" : r.GetString(1), Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture),
                 Convert.ToInt64(r.GetValue(3), CultureInfo.InvariantCulture) != 0),
            ("running", nameof(JobState.Running)));

    public static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    // Progress and the last event id are read from the events when a job is shown, never kept in its body.
    private static string Body(Job job) => JsonSerializer.Serialize(job with { Progress = null, LastEventId = null }, JobJson.Options);
    private static Job Parse(string body)
    {
        try { return JsonSerializer.Deserialize<Job>(body, JobJson.Options) ?? throw new UnreadableJobException("a stored job is null", null); }
        // Not the request's fault: surfaced as a server error, never as a 400 "malformed JSON" of the client's body.
        catch (JsonException e) { throw new UnreadableJobException($"a stored job cannot be read: {e.Message}", e); }
    }

    private static Job? TryParse(string body)
    {
        try { return Parse(body); }
        catch (UnreadableJobException) { return null; }
    }

    protected int Exec(string sql, params (string Name, object Value)[] args)
    {
        using var c = Open();
        return Exec(c, null, sql, args);
    }

    private static int Exec(DbConnection c, DbTransaction? tx, string sql, params (string Name, object Value)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        return cmd.ExecuteNonQuery();
    }

    private List<T> Query<T>(string sql, Func<DbDataReader, T> read, params (string Name, object Value)[] args)
    {
        using var c = Open();
        return Query(c, null, sql, read, args);
    }

    private static List<T> Query<T>(DbConnection c, DbTransaction? tx, string sql, Func<DbDataReader, T> read, params (string Name, object Value)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        using var r = cmd.ExecuteReader();
        var rows = new List<T>();
        while (r.Read()) rows.Add(read(r));
        return rows;
    }

    private static DbCommand Command(DbConnection c, DbTransaction? tx, string sql, (string Name, object Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }
}

/// <summary>A stored job row that does not parse: a server-side fault (500), not a bad request.</summary>
public sealed class UnreadableJobException(string message, Exception? inner) : Exception(message, inner);
