using System.Data.Common;
using Npgsql;

namespace NeuralService.Api.Jobs;

/// <summary>Jobs in the registry's PostgreSQL database, shared by every replica of the service.</summary>
public sealed class PostgresJobStore : JobStore
{
    // Arbitrary constant naming "job table setup" for pg_advisory_xact_lock: replicas starting together create it once.
    private const long SetupLockKey = 0x4E53_4A42; // "NSJB"
    private readonly NpgsqlDataSource _source;

    public PostgresJobStore(string connectionString)
    {
        _source = NpgsqlDataSource.Create(connectionString);
        using var c = _source.OpenConnection();
        using var tx = c.BeginTransaction();
        using (var lockCmd = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({SetupLockKey})", c, tx)) lockCmd.ExecuteNonQuery();
        CreateOrUpgrade(c, tx);
        tx.Commit();
    }

    protected override DbConnection Open() => _source.OpenConnection();

    public override void Dispose()
    {
        _source.Dispose();
        base.Dispose();
    }
}
