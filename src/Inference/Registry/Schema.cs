namespace NeuralService.Inference.Registry;

/// <summary>The registry schema as ordered migrations, written in the SQL subset that SQLite and PostgreSQL share
/// (TEXT, BIGINT, ON CONFLICT). Integers are BIGINT everywhere so both drivers hand back the same CLR type.</summary>
public static class Schema
{
    public sealed record Migration(int Version, string Description, string Sql);

    public static readonly IReadOnlyList<Migration> Migrations =
    [
        new(1, "models, versions, aliases, tags", """
            CREATE TABLE models (
                name TEXT PRIMARY KEY,
                description TEXT,
                next_version BIGINT NOT NULL,
                created_at TEXT NOT NULL);
            CREATE TABLE model_versions (
                model_name TEXT NOT NULL REFERENCES models(name) ON DELETE CASCADE,
                version BIGINT NOT NULL,
                sha256 TEXT NOT NULL,
                size_bytes BIGINT NOT NULL,
                opset BIGINT NOT NULL,
                signature_json TEXT NOT NULL,
                metadata_json TEXT NOT NULL,
                lineage_json TEXT,
                created_at TEXT NOT NULL,
                PRIMARY KEY (model_name, version));
            CREATE INDEX model_versions_sha256 ON model_versions(sha256);
            CREATE TABLE aliases (
                model_name TEXT NOT NULL,
                alias TEXT NOT NULL,
                version BIGINT NOT NULL,
                PRIMARY KEY (model_name, alias),
                FOREIGN KEY (model_name, version) REFERENCES model_versions(model_name, version));
            CREATE TABLE tags (
                model_name TEXT NOT NULL,
                version BIGINT NOT NULL,
                tag_key TEXT NOT NULL,
                tag_value TEXT NOT NULL,
                PRIMARY KEY (model_name, version, tag_key),
                FOREIGN KEY (model_name, version) REFERENCES model_versions(model_name, version) ON DELETE CASCADE);
            """),
        // A deleted model's name keeps counting, so a later model of that name never reuses a version number (a
        // client or replica holding "m/1" must not silently get a different model).
        new(2, "next version of deleted model names", """
            CREATE TABLE retired_model_names (
                name TEXT PRIMARY KEY,
                next_version BIGINT NOT NULL);
            """),
    ];

    public static int Latest => Migrations[^1].Version;
}
