using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace NeuralService.Api.Jobs;

/// <summary>Jobs in a SQLite file: the registry's own <c>registry.db</c>, so one file holds all metadata. Processes on
/// one machine may share it; replicas on several machines need PostgreSQL.</summary>
public sealed class SqliteJobStore : JobStore
{
    private readonly string _connectionString;

    public SqliteJobStore(string file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(file))!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = file, DefaultTimeout = 30, Pooling = false }.ToString();
        using var c = Open();
        using var tx = c.BeginTransaction();
        CreateOrUpgrade(c, tx);
        tx.Commit();
    }

    protected override DbConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout = 30000;";
        cmd.ExecuteNonQuery();
        return c;
    }
}
