using System.Globalization;

namespace NeuralService.Api.Jobs;

/// <summary>One line of a job's log: what the processes that ran it logged about it (started, each epoch, warnings,
/// errors, how it ended). <see cref="Id"/> increases by one with each line of that job.</summary>
public sealed record JobLogLine(long Id, DateTimeOffset Time, string Level, string Message);

/// <summary>A page of a job's log lines after a given id; <see cref="NextAfter"/> is what to pass as <c>after</c> for the
/// lines that follow (the last line's id, or the <c>after</c> asked for when there is none yet).</summary>
public sealed record JobLogPage(string JobId, IReadOnlyList<JobLogLine> Lines, long NextAfter, bool More);

/// <summary>Each job's log lines, in the same database as the jobs (so the worker process, a Kubernetes pod or any
/// replica writes and reads them alike), numbered per job by the <c>log_seq</c> column, taken and incremented in the
/// transaction that appends the line, as events are. They stay after the job ends and go when it is deleted.</summary>
public abstract partial class JobStore
{
    private const string LogsSql = """

        CREATE TABLE IF NOT EXISTS api_job_logs (
          job_id TEXT NOT NULL, seq BIGINT NOT NULL, time_ms BIGINT NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL,
          PRIMARY KEY (job_id, seq));
        """;

    /// <summary>Longer messages are cut here: a log line, not a place for whole stack traces or data.</summary>
    public const int MaxLogMessageChars = 4000;

    /// <summary>Appends a line to the job's log; its id, or null when there is no such job (deleted meanwhile).</summary>
    public long? AppendLog(string jobId, DateTimeOffset time, string level, string message)
    {
        if (message.Length > MaxLogMessageChars) message = message[..MaxLogMessageChars] + "…";
        using var c = Open();
        using var tx = c.BeginTransaction();
        var seq = Query(c, tx, "UPDATE api_jobs SET log_seq = log_seq + 1 WHERE id = @id RETURNING log_seq",
            r => Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture), ("id", jobId));
        if (seq.Count == 0) return null;
        Exec(c, tx, "INSERT INTO api_job_logs (job_id, seq, time_ms, level, message) VALUES (@id, @seq, @time, @level, @message)",
            ("id", jobId), ("seq", seq[0]), ("time", time.ToUnixTimeMilliseconds()), ("level", level), ("message", message));
        tx.Commit();
        return seq[0];
    }

    /// <summary>The job's log lines after <paramref name="after"/>, oldest first, at most <paramref name="limit"/>.</summary>
    public IReadOnlyList<JobLogLine> Logs(string jobId, long after = 0, int limit = 500) =>
        Query("SELECT seq, time_ms, level, message FROM api_job_logs WHERE job_id = @id AND seq > @after ORDER BY seq LIMIT @limit",
            r => new JobLogLine(Convert.ToInt64(r.GetValue(0), CultureInfo.InvariantCulture),
                DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(r.GetValue(1), CultureInfo.InvariantCulture)), r.GetString(2), r.GetString(3)),
            ("id", jobId), ("after", after), ("limit", limit));

    /// <summary>Removes a job's log (when the job itself is deleted).</summary>
    public int DeleteLogs(string jobId) => Exec("DELETE FROM api_job_logs WHERE job_id = @id", ("id", jobId));
}
