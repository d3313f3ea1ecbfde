using System.Diagnostics;
using Npgsql;

namespace NeuralService.Inference.Tests.Support;

/// <summary>The PostgreSQL server the PostgreSQL store tests use: <c>NEURAL_TEST_POSTGRES</c> (a connection string)
/// if set, otherwise a throwaway cluster started by <c>scripts/postgres-test.sh</c>. Without PostgreSQL binaries the
/// tests skip, except under CI=true where they fail.</summary>
public sealed class PostgresServer : IDisposable
{
    private readonly string? _ownedDirectory;
    private readonly string? _script;
    private readonly List<string> _databases = [];

    public PostgresServer()
    {
        var given = Environment.GetEnvironmentVariable("NEURAL_TEST_POSTGRES");
        if (!string.IsNullOrWhiteSpace(given)) { ConnectionString = given; return; }
        _script = Path.Combine(AppContext.BaseDirectory, "postgres-test.sh");
        var (code, stdout, stderr) = RunScript("start");
        if (code == 3) { Unavailable = stderr.Trim(); return; }
        if (code != 0) { Unavailable = $"scripts/postgres-test.sh start failed ({code}): {stderr.Trim()}"; Broken = true; return; }
        ConnectionString = stdout.Trim().Split('\n')[^1];
        _ownedDirectory = new NpgsqlConnectionStringBuilder(ConnectionString).Host;
    }

    public string? ConnectionString { get; }
    /// <summary>Why there is no server, or null.</summary>
    public string? Unavailable { get; }
    /// <summary>The binaries exist but the server did not start: always a failure.</summary>
    public bool Broken { get; }

    /// <summary>Skips (or, under CI=true or when the server is broken, fails) when there is no server.</summary>
    public void Require()
    {
        if (Unavailable is null) return;
        var ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        if (ci || Broken) Assert.Fail($"PostgreSQL tests cannot run: {Unavailable}");
        Skip.If(true, $"PostgreSQL not available: {Unavailable}");
    }

    /// <summary>A fresh empty database for one test, so tests do not see each other's models.</summary>
    public string NewDatabase()
    {
        var name = $"neural_test_{Guid.NewGuid():N}";
        using (var c = new NpgsqlConnection(ConnectionString))
        {
            c.Open();
            using var cmd = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", c);
            cmd.ExecuteNonQuery();
        }
        lock (_databases) _databases.Add(name);
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    private (int Code, string Stdout, string Stderr) RunScript(params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(_script!);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    public void Dispose()
    {
        NpgsqlConnection.ClearAllPools();
        if (_ownedDirectory is not null)
        {
            RunScript("stop", _ownedDirectory);
            return;
        }
        // A server we were given outlives us: drop what the tests created there.
        if (ConnectionString is null) return;
        using var c = new NpgsqlConnection(ConnectionString);
        c.Open();
        foreach (var name in _databases)
        {
            using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", c);
            cmd.ExecuteNonQuery();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>
{
    public const string Name = "postgres";
}
