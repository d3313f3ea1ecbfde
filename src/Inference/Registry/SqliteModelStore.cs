using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace NeuralService.Inference.Registry;

/// <summary>The embedded default: one SQLite file (WAL journal, full fsync) in the registry's data directory.</summary>
public sealed class SqliteModelStore : SqlModelStore
{
    private readonly string _connectionString;

    public SqliteModelStore(string databasePath)
    {
        DatabasePath = Path.GetFullPath(databasePath);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = DatabasePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            DefaultTimeout = 30,
            Pooling = true,
        }.ToString();
    }

    public string DatabasePath { get; }

    protected override async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var c = new SqliteConnection(_connectionString);
        await c.OpenAsync(ct);
        await using var cmd = c.CreateCommand();
        // WAL keeps readers off writers' backs; synchronous=FULL makes a committed version survive power loss.
        cmd.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;";
        await cmd.ExecuteNonQueryAsync(ct);
        return c;
    }

    // Microsoft.Data.Sqlite starts non-deferred transactions with BEGIN IMMEDIATE: the write lock is taken up front.
    protected override Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken ct) =>
        Task.FromResult<DbTransaction>(((SqliteConnection)connection).BeginTransaction(deferred: false));

    public override void Dispose()
    {
        // Pooled connections keep the file open; release them so the data directory can be moved or deleted.
        using (var c = new SqliteConnection(_connectionString)) SqliteConnection.ClearPool(c);
        base.Dispose();
    }
}
