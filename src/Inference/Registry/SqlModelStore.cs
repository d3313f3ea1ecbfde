using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text.Json;

namespace NeuralService.Inference.Registry;

/// <summary>The registry on any ADO.NET database that speaks the SQL of <see cref="Schema"/>. Subclasses supply
/// connections and the few dialect differences (write locking).</summary>
public abstract class SqlModelStore : IModelStore
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

    protected abstract Task<DbConnection> OpenAsync(CancellationToken ct);
    /// <summary>Begins a transaction that serialises writers, so version numbers and alias moves cannot race.</summary>
    protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken ct);

    public virtual void Dispose() => GC.SuppressFinalize(this);

    // ---- migrations ----

    public async Task MigrateAsync(CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        // Every step runs under the writer lock, so concurrent starters apply each migration exactly once.
        await using (var tx = await BeginWriteAsync(c, ct))
        {
            await ExecAsync(c, tx, "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)", ct);
            await tx.CommitAsync(ct);
        }
        foreach (var m in Schema.Migrations)
        {
            await using var tx = await BeginWriteAsync(c, ct);
            var applied = await ScalarAsync(c, tx, "SELECT COUNT(*) FROM schema_migrations WHERE version = @v", ct, ("v", (long)m.Version));
            if (Convert.ToInt64(applied, CultureInfo.InvariantCulture) > 0) { await tx.RollbackAsync(ct); continue; }
            await ExecAsync(c, tx, m.Sql, ct);
            await ExecAsync(c, tx, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (@v, @d, @t)", ct,
                ("v", (long)m.Version), ("d", m.Description), ("t", Now()));
            await tx.CommitAsync(ct);
        }
    }

    public async Task<int> SchemaVersionAsync(CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        var v = await ScalarAsync(c, null, "SELECT MAX(version) FROM schema_migrations", ct);
        return v is null or DBNull ? 0 : Convert.ToInt32(v, CultureInfo.InvariantCulture);
    }

    // ---- models ----

    public async Task<IReadOnlyList<RegisteredModel>> ListModelsAsync(CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        var rows = await QueryAsync(c, null, "SELECT name, description, created_at FROM models ORDER BY name", ct,
            r => (Name: r.GetString(0), Description: r.IsDBNull(1) ? null : r.GetString(1), Created: r.GetString(2)));
        var aliases = await QueryAsync(c, null, "SELECT model_name, alias, version FROM aliases", ct,
            r => (Model: r.GetString(0), Alias: r.GetString(1), Version: ToInt(r.GetValue(2))));
        return rows.Select(m => new RegisteredModel(m.Name, m.Description, ParseTime(m.Created),
            aliases.Where(a => a.Model == m.Name).ToDictionary(a => a.Alias, a => a.Version))).ToList();
    }

    public async Task<IReadOnlyDictionary<string, int>> LatestVersionsAsync(CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        var rows = await QueryAsync(c, null, "SELECT model_name, MAX(version) FROM model_versions GROUP BY model_name", ct,
            r => (Model: r.GetString(0), Version: ToInt(r.GetValue(1))));
        return rows.ToDictionary(r => r.Model, r => r.Version, StringComparer.Ordinal);
    }

    public async Task<RegisteredModel?> GetModelAsync(string model, CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        return await GetModelAsync(c, null, model, ct);
    }

    private static async Task<RegisteredModel?> GetModelAsync(DbConnection c, DbTransaction? tx, string model, CancellationToken ct)
    {
        var rows = await QueryAsync(c, tx, "SELECT name, description, created_at FROM models WHERE name = @n", ct,
            r => (Name: r.GetString(0), Description: r.IsDBNull(1) ? null : r.GetString(1), Created: r.GetString(2)), ("n", model));
        if (rows.Count == 0) return null;
        var aliases = await QueryAsync(c, tx, "SELECT alias, version FROM aliases WHERE model_name = @n", ct,
            r => (Alias: r.GetString(0), Version: ToInt(r.GetValue(1))), ("n", model));
        return new RegisteredModel(rows[0].Name, rows[0].Description, ParseTime(rows[0].Created), aliases.ToDictionary(a => a.Alias, a => a.Version));
    }

    // ---- versions ----

    public async Task<ModelVersion> AddVersionAsync(NewVersion v, CancellationToken ct = default)
    {
        ModelName.Check(v.Model);
        foreach (var key in v.Tags.Keys) ModelName.Check(key, "tag key");
        await using var c = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var now = Now();
        await ExecAsync(c, tx, """
            INSERT INTO models (name, description, next_version, created_at)
            VALUES (@n, @d, COALESCE((SELECT r.next_version FROM retired_model_names r WHERE r.name = @n), 1), @t)
            ON CONFLICT (name) DO NOTHING
            """, ct,
            ("n", v.Model), ("d", v.Description), ("t", now));
        if (v.Description is not null)
            await ExecAsync(c, tx, "UPDATE models SET description = @d WHERE name = @n", ct, ("n", v.Model), ("d", v.Description));
        var number = ToInt(await ScalarAsync(c, tx, "SELECT next_version FROM models WHERE name = @n", ct, ("n", v.Model)));
        await ExecAsync(c, tx, "UPDATE models SET next_version = @v WHERE name = @n", ct, ("n", v.Model), ("v", (long)number + 1));
        await ExecAsync(c, tx, """
            INSERT INTO model_versions (model_name, version, sha256, size_bytes, opset, signature_json, metadata_json, lineage_json, created_at)
            VALUES (@n, @v, @sha, @size, @opset, @sig, @meta, @lin, @t)
            """, ct,
            ("n", v.Model), ("v", (long)number), ("sha", v.Sha256), ("size", v.SizeBytes), ("opset", v.Opset),
            ("sig", JsonSerializer.Serialize(v.Signature, Json)), ("meta", JsonSerializer.Serialize(v.Metadata, Json)),
            ("lin", v.Lineage is null ? null : JsonSerializer.Serialize(v.Lineage, Json)), ("t", now));
        foreach (var (key, value) in v.Tags)
            await ExecAsync(c, tx, "INSERT INTO tags (model_name, version, tag_key, tag_value) VALUES (@n, @v, @k, @val)", ct,
                ("n", v.Model), ("v", (long)number), ("k", key), ("val", value));
        await tx.CommitAsync(ct);
        return (await GetVersionAsync(c, null, v.Model, number, ct))!;
    }

    public async Task<IReadOnlyList<ModelVersion>> ListVersionsAsync(string model, CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        return await VersionsAsync(c, null, "WHERE v.model_name = @n", ct, ("n", model));
    }

    public async Task<ModelVersion?> GetVersionAsync(string model, int version, CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        return await GetVersionAsync(c, null, model, version, ct);
    }

    public async Task<bool> IsFileReferencedAsync(string sha256, CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        var n = await ScalarAsync(c, null, "SELECT COUNT(*) FROM model_versions WHERE sha256 = @s", ct, ("s", sha256));
        return Convert.ToInt64(n, CultureInfo.InvariantCulture) > 0;
    }

    public async Task<IReadOnlyList<ModelVersion>> AllVersionsAsync(CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        return await VersionsAsync(c, null, "", ct);
    }

    private static async Task<ModelVersion?> GetVersionAsync(DbConnection c, DbTransaction? tx, string model, int version, CancellationToken ct) =>
        (await VersionsAsync(c, tx, "WHERE v.model_name = @n AND v.version = @v", ct, ("n", model), ("v", (long)version))).FirstOrDefault();

    private static async Task<IReadOnlyList<ModelVersion>> VersionsAsync(DbConnection c, DbTransaction? tx, string where, CancellationToken ct,
        params (string, object?)[] args)
    {
        var rows = await QueryAsync(c, tx, $"""
            SELECT v.model_name, v.version, v.sha256, v.size_bytes, v.opset, v.signature_json, v.metadata_json, v.lineage_json, v.created_at
            FROM model_versions v {where} ORDER BY v.model_name, v.version
            """, ct, r => (Model: r.GetString(0), Version: ToInt(r.GetValue(1)), Sha: r.GetString(2), Size: Convert.ToInt64(r.GetValue(3), CultureInfo.InvariantCulture),
                Opset: Convert.ToInt64(r.GetValue(4), CultureInfo.InvariantCulture), Sig: r.GetString(5), Meta: r.GetString(6),
                Lineage: r.IsDBNull(7) ? null : r.GetString(7), Created: r.GetString(8)), args);
        var tagWhere = where.Replace("v.", "t.", StringComparison.Ordinal);
        var tags = await QueryAsync(c, tx, $"SELECT t.model_name, t.version, t.tag_key, t.tag_value FROM tags t {tagWhere}", ct,
            r => (Model: r.GetString(0), Version: ToInt(r.GetValue(1)), Key: r.GetString(2), Value: r.GetString(3)), args);
        return rows.Select(r => new ModelVersion(r.Model, r.Version, r.Sha, r.Size, r.Opset,
            JsonSerializer.Deserialize<Signature>(r.Sig, Json)!,
            JsonSerializer.Deserialize<Dictionary<string, string>>(r.Meta, Json)!,
            r.Lineage is null ? null : JsonSerializer.Deserialize<Lineage>(r.Lineage, Json),
            tags.Where(t => t.Model == r.Model && t.Version == r.Version).ToDictionary(t => t.Key, t => t.Value),
            ParseTime(r.Created))).ToList();
    }

    // ---- aliases and tags ----

    public async Task SetAliasAsync(string model, string alias, int version, CancellationToken ct = default)
    {
        ModelName.CheckAlias(alias);
        await using var c = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        await RequireVersionAsync(c, tx, model, version, ct);
        await ExecAsync(c, tx, """
            INSERT INTO aliases (model_name, alias, version) VALUES (@n, @a, @v)
            ON CONFLICT (model_name, alias) DO UPDATE SET version = excluded.version
            """, ct, ("n", model), ("a", alias), ("v", (long)version));
        await tx.CommitAsync(ct);
    }

    public async Task<bool> RemoveAliasAsync(string model, string alias, CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        return await ExecAsync(c, null, "DELETE FROM aliases WHERE model_name = @n AND alias = @a", ct, ("n", model), ("a", alias)) > 0;
    }

    public async Task SetTagAsync(string model, int version, string key, string value, CancellationToken ct = default)
    {
        ModelName.Check(key, "tag key");
        await using var c = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        await RequireVersionAsync(c, tx, model, version, ct);
        await ExecAsync(c, tx, """
            INSERT INTO tags (model_name, version, tag_key, tag_value) VALUES (@n, @v, @k, @val)
            ON CONFLICT (model_name, version, tag_key) DO UPDATE SET tag_value = excluded.tag_value
            """, ct, ("n", model), ("v", (long)version), ("k", key), ("val", value));
        await tx.CommitAsync(ct);
    }

    public async Task<bool> RemoveTagAsync(string model, int version, string key, CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        return await ExecAsync(c, null, "DELETE FROM tags WHERE model_name = @n AND version = @v AND tag_key = @k", ct,
            ("n", model), ("v", (long)version), ("k", key)) > 0;
    }

    // ---- deletion ----

    public async Task<ModelVersion> DeleteVersionAsync(string model, int version, CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var existing = await RequireVersionAsync(c, tx, model, version, ct);
        var aliases = await QueryAsync(c, tx, "SELECT alias FROM aliases WHERE model_name = @n AND version = @v", ct,
            r => r.GetString(0), ("n", model), ("v", (long)version));
        if (aliases.Count > 0)
            throw new RegistryConflictException($"{model}/{version} is aliased as {string.Join(", ", aliases.Order())}; move or remove the alias first");
        await ExecAsync(c, tx, "DELETE FROM tags WHERE model_name = @n AND version = @v", ct, ("n", model), ("v", (long)version));
        await ExecAsync(c, tx, "DELETE FROM model_versions WHERE model_name = @n AND version = @v", ct, ("n", model), ("v", (long)version));
        await tx.CommitAsync(ct);
        return existing;
    }

    public async Task<IReadOnlyList<ModelVersion>> DeleteModelAsync(string model, bool force, CancellationToken ct = default)
    {
        await using var c = await OpenAsync(ct);
        await using var tx = await BeginWriteAsync(c, ct);
        var m = await GetModelAsync(c, tx, model, ct) ?? throw new ModelNotFoundException($"no model named '{model}'");
        if (m.Aliases.Count > 0 && !force)
            throw new RegistryConflictException($"model '{model}' has aliases ({string.Join(", ", m.Aliases.Keys.Order())}); remove them or delete with force");
        var versions = await VersionsAsync(c, tx, "WHERE v.model_name = @n", ct, ("n", model));
        await ExecAsync(c, tx, "DELETE FROM aliases WHERE model_name = @n", ct, ("n", model));
        await ExecAsync(c, tx, "DELETE FROM tags WHERE model_name = @n", ct, ("n", model));
        await ExecAsync(c, tx, "DELETE FROM model_versions WHERE model_name = @n", ct, ("n", model));
        await ExecAsync(c, tx, """
            INSERT INTO retired_model_names (name, next_version) SELECT name, next_version FROM models WHERE name = @n
            ON CONFLICT (name) DO UPDATE SET next_version = excluded.next_version
            """, ct, ("n", model));
        await ExecAsync(c, tx, "DELETE FROM models WHERE name = @n", ct, ("n", model));
        await tx.CommitAsync(ct);
        return versions;
    }

    private static async Task<ModelVersion> RequireVersionAsync(DbConnection c, DbTransaction tx, string model, int version, CancellationToken ct) =>
        await GetVersionAsync(c, tx, model, version, ct) ?? throw new ModelNotFoundException($"no version {version} of model '{model}'");

    // ---- ADO.NET plumbing ----

    protected static async Task<int> ExecAsync(DbConnection c, DbTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] args)
    {
        await using var cmd = Command(c, tx, sql, args);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    protected static async Task<object?> ScalarAsync(DbConnection c, DbTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] args)
    {
        await using var cmd = Command(c, tx, sql, args);
        return await cmd.ExecuteScalarAsync(ct);
    }

    private static async Task<List<T>> QueryAsync<T>(DbConnection c, DbTransaction? tx, string sql, CancellationToken ct, Func<DbDataReader, T> map,
        params (string Name, object? Value)[] args)
    {
        await using var cmd = Command(c, tx, sql, args);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var list = new List<T>();
        while (await reader.ReadAsync(ct)) list.Add(map(reader));
        return list;
    }

    private static DbCommand Command(DbConnection c, DbTransaction? tx, string sql, (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Transaction = tx;
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            if (value is null) p.DbType = DbType.String;
            cmd.Parameters.Add(p);
        }
        return cmd;
    }

    private static int ToInt(object? v) => Convert.ToInt32(v, CultureInfo.InvariantCulture);
    private static string Now() => DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture);
    private static DateTimeOffset ParseTime(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
}
