using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace NeuralService.Api.Jobs;

/// <summary>The events of each job, in the same database as the jobs so that whichever process runs a job (this one, a
/// child process, a Kubernetes pod) reports through it and any replica can stream them. A job's events are numbered by
/// its <c>event_seq</c> column, taken and incremented in the transaction that appends the event: the row lock orders
/// concurrent writers, so a reader never sees event n+1 before event n is there.</summary>
public abstract partial class JobStore
{
    private const string EventsSql = """

        CREATE TABLE IF NOT EXISTS api_job_events (
          job_id TEXT NOT NULL, seq BIGINT NOT NULL, type TEXT NOT NULL, epoch INTEGER NULL, time_ms BIGINT NOT NULL, data TEXT NOT NULL,
          PRIMARY KEY (job_id, seq));
        """;

    /// <summary>Batch events an epoch keeps once it ended: evenly spread over it, its first and last included (enough to
    /// draw its curve again after a reload; state and epoch events are all kept).</summary>
    public const int BatchEventsKeptPerEpoch = 20;

    /// <summary>An epoch still under way is thinned to half of this whenever it holds more (a long epoch at four batch
    /// events a second).</summary>
    public const int MaxBatchEventsPerEpoch = 1000;

    /// <summary>Raised after this store instance committed events of a job (the id), to wake this process's streams.</summary>
    public event Action<string>? Appended;

    private sealed record PendingEvent(string Type, int? Epoch, object Data);

    private static PendingEvent StateEvent(Job job) => new(JobEventTypes.State, null, JobStateEvent.Of(job));
    private static PendingEvent EpochEvent(JobEpochEvent e) => new(JobEventTypes.Epoch, e.Epoch, e);

    /// <summary>Runs <paramref name="change"/> and, when it wrote, appends <paramref name="events"/> in the same transaction.</summary>
    private bool WriteWithEvents(string jobId, Func<DbConnection, DbTransaction, bool> change, params PendingEvent[] events)
    {
        bool written;
        using (var c = Open())
        using (var tx = c.BeginTransaction())
        {
            written = change(c, tx);
            if (written)
                foreach (var e in events)
                {
                    Append(c, tx, jobId, e, owner: null);
                    if (e.Type == JobEventTypes.Epoch) Thin(c, tx, jobId, e.Epoch!.Value, BatchEventsKeptPerEpoch);
                }
            tx.Commit();
        }
        if (written && events.Length > 0) Appended?.Invoke(jobId);
        return written;
    }

    /// <summary>Appends a batch event of a job <paramref name="owner"/> runs. Returns its id, or null when the job is no
    /// longer running under that owner (a run that lost its lease reports nothing).</summary>
    public long? AppendProgress(JobProgress progress, string owner)
    {
        long? seq;
        using (var c = Open())
        using (var tx = c.BeginTransaction())
        {
            seq = Append(c, tx, progress.JobId, new PendingEvent(JobEventTypes.Batch, progress.Epoch, progress), owner);
            if (seq % 100 == 0) Thin(c, tx, progress.JobId, progress.Epoch, MaxBatchEventsPerEpoch / 2, above: MaxBatchEventsPerEpoch);
            tx.Commit();
        }
        if (seq is not null) Appended?.Invoke(progress.JobId);
        return seq;
    }

    private static long? Append(DbConnection c, DbTransaction tx, string jobId, PendingEvent e, string? owner)
    {
        var args = new List<(string, object)> { ("id", jobId) };
        var sql = "UPDATE api_jobs SET event_seq = event_seq + 1 WHERE id = @id";
        if (owner is not null)
        {
            sql += " AND owner = @owner AND state = @running";
            args.Add(("owner", owner));
            args.Add(("running", nameof(JobState.Running)));
        }
        var seq = Query(c, tx, sql + " RETURNING event_seq", r => Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), [.. args]);
        if (seq.Count == 0) return null;
        Exec(c, tx, "INSERT INTO api_job_events (job_id, seq, type, epoch, time_ms, data) VALUES (@id, @seq, @type, @epoch, @time, @data)",
            ("id", jobId), ("seq", seq[0]), ("type", e.Type), ("epoch", e.Epoch is { } n ? (object)n : DBNull.Value), ("time", NowMs()),
            ("data", JsonSerializer.Serialize(e.Data, e.Data.GetType(), JobJson.Options)));
        return seq[0];
    }

    /// <summary>Deletes batch events of one epoch, keeping <paramref name="keep"/> evenly spread ones (first and last
    /// included), when it holds more than <paramref name="above"/> (default: more than it keeps).</summary>
    private static void Thin(DbConnection c, DbTransaction tx, string jobId, int epoch, int keep, int? above = null)
    {
        var seqs = Query(c, tx, "SELECT seq FROM api_job_events WHERE job_id = @id AND type = @batch AND epoch = @epoch ORDER BY seq",
            r => Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), ("id", jobId), ("batch", JobEventTypes.Batch), ("epoch", epoch));
        if (seqs.Count <= (above ?? keep)) return;
        var kept = Enumerable.Range(0, keep).Select(i => seqs[(int)((long)i * (seqs.Count - 1) / (keep - 1))]).ToHashSet();
        foreach (var chunk in seqs.Where(s => !kept.Contains(s)).Chunk(500))
            Exec(c, tx, $"DELETE FROM api_job_events WHERE job_id = @id AND seq IN ({string.Join(",", chunk.Select(s => s.ToString(CultureInfo.InvariantCulture)))})",
                ("id", jobId));
    }

    /// <summary>The job's events after <paramref name="after"/>, oldest first, at most <paramref name="limit"/>.</summary>
    public IReadOnlyList<StoredJobEvent> Events(string jobId, long after = 0, int limit = 500) =>
        Query("SELECT seq, type, time_ms, data FROM api_job_events WHERE job_id = @id AND seq > @after ORDER BY seq LIMIT @limit",
            r => new StoredJobEvent(Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), r.GetString(1),
                DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(r.GetValue(2), CultureInfo.InvariantCulture)), r.GetString(3)),
            ("id", jobId), ("after", after), ("limit", limit));

    /// <summary>The id of the job's last event (0 before any), or null when there is no such job.</summary>
    public long? LastEventId(string jobId) =>
        Query("SELECT event_seq FROM api_jobs WHERE id = @id", r => (long?)Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), ("id", jobId))
            .FirstOrDefault();

    /// <summary>The job's latest batch event, or null.</summary>
    public JobProgress? LatestProgress(string jobId) =>
        Query("SELECT data FROM api_job_events WHERE job_id = @id AND type = @batch ORDER BY seq DESC LIMIT 1",
                r => r.GetString(0), ("id", jobId), ("batch", JobEventTypes.Batch))
            .Select(d =>
            {
                try { return JsonSerializer.Deserialize<JobProgress>(d, JobJson.Options); }
                catch (JsonException) { return null; } // written by another version: no progress rather than a failed GET
            })
            .FirstOrDefault();

    /// <summary>Removes all events of a job (when the job itself is deleted).</summary>
    public int DeleteEvents(string jobId) => Exec("DELETE FROM api_job_events WHERE job_id = @id", ("id", jobId));
}
