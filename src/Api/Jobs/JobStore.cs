using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using NeuralService.Api.Hosting;
using NeuralService.Inference.Registry;

namespace NeuralService.Api.Jobs;

/// <summary>Jobs in SQLite: the registry's own <c>registry.db</c> with SQLite storage (a table <c>api_jobs</c> created
/// at start), <c>jobs.db</c> in the data directory otherwise. Each row keeps the whole job as JSON.</summary>
public sealed class JobStore
{
    private readonly string _connectionString;

    public JobStore(IOptions<NeuralOptions> options)
    {
        var o = options.Value;
        var dir = o.DataDirectory();
        Directory.CreateDirectory(dir);
        var file = o.Storage.Provider == "sqlite" ? ModelRegistry.DatabaseFileName : "jobs.db";
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path.Combine(dir, file), DefaultTimeout = 30, Pooling = false }.ToString();
        using var c = Open();
        Exec(c, """
            CREATE TABLE IF NOT EXISTS api_jobs (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, state TEXT NOT NULL, body TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS api_jobs_created ON api_jobs (created_at);
            """);
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        Exec(c, "PRAGMA busy_timeout = 30000;");
        return c;
    }

    private static void Exec(SqliteConnection c, string sql, params (string, object)[] args)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        cmd.ExecuteNonQuery();
    }

    public void Save(Job job)
    {
        using var c = Open();
        Exec(c, """
            INSERT INTO api_jobs (id, created_at, state, body) VALUES ($id, $created, $state, $body)
            ON CONFLICT (id) DO UPDATE SET state = excluded.state, body = excluded.body
            """, ("$id", job.Id), ("$created", job.CreatedAt.ToString("O")), ("$state", job.State.ToString()), ("$body", JsonSerializer.Serialize(job, JobJson.Options)));
    }

    public Job? Get(string id) => Query("WHERE id = $id", ("$id", id)).FirstOrDefault();

    public IReadOnlyList<Job> List(JobState? state = null) =>
        state is { } s ? Query("WHERE state = $s ORDER BY created_at", ("$s", s.ToString())) : Query("ORDER BY created_at");

    private List<Job> Query(string where, params (string, object)[] args)
    {
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT body FROM api_jobs " + where;
        foreach (var (n, v) in args) cmd.Parameters.AddWithValue(n, v);
        using var r = cmd.ExecuteReader();
        var jobs = new List<Job>();
        while (r.Read()) jobs.Add(JsonSerializer.Deserialize<Job>(r.GetString(0), JobJson.Options)!);
        return jobs;
    }
}
