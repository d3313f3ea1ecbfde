using System.Data.Common;
using Npgsql;

namespace NeuralService.Inference.Registry;

/// <summary>The registry's metadata in PostgreSQL (model files still live in the data directory).</summary>
public sealed class PostgresModelStore(string connectionString) : SqlModelStore
{
    // Arbitrary constant identifying "registry writer" in pg_advisory_xact_lock.
    private const long WriteLockKey = 0x4E53_5247; // "NSRG"
    private readonly NpgsqlDataSource _source = NpgsqlDataSource.Create(connectionString);

    protected override async Task<DbConnection> OpenAsync(CancellationToken ct) => await _source.OpenConnectionAsync(ct);

    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken ct)
    {
        var tx = await connection.BeginTransactionAsync(ct);
        // One transaction-scoped advisory lock serialises writers as SQLite's BEGIN IMMEDIATE does.
        await ExecAsync(connection, tx, $"SELECT pg_advisory_xact_lock({WriteLockKey})", ct);
        return tx;
    }

    public override void Dispose()
    {
        _source.Dispose();
        base.Dispose();
    }
}
