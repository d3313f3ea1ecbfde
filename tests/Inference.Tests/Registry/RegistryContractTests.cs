using NeuralService.Inference.Registry;
using NeuralService.Inference.Tests.Support;

namespace NeuralService.Inference.Tests.Registry;

/// <summary>The registry's behaviour, run once per metadata store (<see cref="SqliteRegistryTests"/>,
/// <see cref="PostgresRegistryTests"/>).</summary>
public abstract class RegistryContractTests : IDisposable
{
    private readonly List<ModelRegistry> _opened = [];
    protected TempDirectory Data { get; } = new();

    /// <summary>Opens the registry on this test's store and data directory (again: same store, same data).</summary>
    protected abstract Task<ModelRegistry> OpenStoreAsync(string dataDirectory);

    protected async Task<ModelRegistry> OpenAsync()
    {
        var r = await OpenStoreAsync(Data.Path);
        _opened.Add(r);
        return r;
    }

    [SkippableFact]
    public async Task Register_assigns_numbered_versions_with_hash_signature_and_metadata()
    {
        var r = await OpenAsync();
        var model = TestModels.Affine(metadata: new Dictionary<string, string> { ["labels"] = "[\"cat\",\"dog\",\"eel\"]", ["preprocessing"] = "scale:1/255" });
        var v1 = await r.RegisterAsync("iris-classifier", model, new RegisterOptions { Description = "first" });
        var v2 = await r.RegisterAsync("iris-classifier", TestModels.Affine(features: 4));
        Assert.Equal(1, v1.Version);
        Assert.Equal(2, v2.Version);
        var bytes = model.Bytes();
        Assert.Equal(BlobStore.Sha256Of(bytes), v1.Sha256);
        Assert.Equal(bytes.LongLength, v1.SizeBytes);
        Assert.Equal(17, v1.Opset);
        var x = Assert.Single(v1.Signature.Inputs);
        Assert.Equal("x", x.Name);
        Assert.Equal("float32", x.ElementType);
        Assert.Equal([DimSpec.Sym("batch"), DimSpec.Of(3)], x.Shape!);
        Assert.Equal("y", Assert.Single(v1.Signature.Outputs).Name);
        Assert.Equal("scale:1/255", v1.Metadata["preprocessing"]);
        Assert.Equal("[\"cat\",\"dog\",\"eel\"]", v1.Metadata["labels"]);
        Assert.True(File.Exists(r.FilePath(v1)));
        Assert.Equal(DimSpec.Of(4), (await r.GetVersionAsync("iris-classifier", 2)).Signature.Inputs[0].Shape![1]);
        var listed = Assert.Single(await r.ListModelsAsync());
        Assert.Equal("first", listed.Description);
        Assert.Equal([1, 2], (await r.ListVersionsAsync("iris-classifier")).Select(v => v.Version));
    }

    [SkippableFact]
    public async Task Lineage_and_tags_round_trip()
    {
        var r = await OpenAsync();
        var lineage = new Lineage("job-42", "fashion-mnist", "{\"lr\":0.001,\"epochs\":5}", new Dictionary<string, double> { ["accuracy"] = 0.912, ["loss"] = 0.25 });
        var v = await r.RegisterAsync("cnn", TestModels.Affine(), new RegisterOptions { Lineage = lineage, Tags = new Dictionary<string, string> { ["owner"] = "ml" } });
        var read = await r.GetVersionAsync("cnn", v.Version);
        Assert.Equal("job-42", read.Lineage!.TrainingJobId);
        Assert.Equal("fashion-mnist", read.Lineage.Dataset);
        Assert.Equal("{\"lr\":0.001,\"epochs\":5}", read.Lineage.HyperparametersJson);
        Assert.Equal(0.912, read.Lineage.FinalMetrics!["accuracy"]);
        Assert.Equal("ml", read.Tags["owner"]);
        await r.SetTagAsync("cnn", 1, "owner", "platform");
        await r.SetTagAsync("cnn", 1, "reviewed", "yes");
        Assert.Equal("platform", (await r.GetVersionAsync("cnn", 1)).Tags["owner"]);
        Assert.True(await r.RemoveTagAsync("cnn", 1, "owner"));
        Assert.Equal(["reviewed"], (await r.GetVersionAsync("cnn", 1)).Tags.Keys);
        await Assert.ThrowsAsync<InvalidModelException>(() => r.RegisterAsync("cnn", TestModels.Affine(),
            new RegisterOptions { Lineage = new Lineage(HyperparametersJson: "{not json") }));
    }

    [SkippableFact]
    public async Task Aliases_move_and_resolve()
    {
        var r = await OpenAsync();
        await r.RegisterAsync("m", TestModels.Affine());
        await r.RegisterAsync("m", TestModels.Affine(features: 5));
        await r.SetAliasAsync("m", "production", 1);
        await r.SetAliasAsync("m", "staging", 2);
        Assert.Equal(1, (await r.ResolveAsync("m", "production")).Version);
        await r.SetAliasAsync("m", "production", 2);
        Assert.Equal(2, (await r.ResolveAsync("m", "production")).Version);
        Assert.Equal(2, (await r.ResolveAsync("m", "latest")).Version);
        Assert.Equal(1, (await r.ResolveAsync("m", "1")).Version);
        Assert.Equal(new Dictionary<string, int> { ["production"] = 2, ["staging"] = 2 }, (await r.ListModelsAsync())[0].Aliases);
        await Assert.ThrowsAsync<ModelNotFoundException>(() => r.ResolveAsync("m", "canary"));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => r.SetAliasAsync("m", "canary", 7));
        await Assert.ThrowsAsync<InvalidModelException>(() => r.SetAliasAsync("m", "3", 1));
        Assert.True(await r.RemoveAliasAsync("m", "staging"));
        Assert.False(await r.RemoveAliasAsync("m", "staging"));
    }

    [SkippableFact]
    public async Task Delete_rules_protect_aliased_versions_and_models()
    {
        var r = await OpenAsync();
        var v1 = await r.RegisterAsync("m", TestModels.Affine());
        var v2 = await r.RegisterAsync("m", TestModels.Affine(features: 6));
        await r.SetAliasAsync("m", "production", 1);
        var e = await Assert.ThrowsAsync<RegistryConflictException>(() => r.DeleteVersionAsync("m", 1));
        Assert.Contains("production", e.Message);
        await Assert.ThrowsAsync<RegistryConflictException>(() => r.DeleteModelAsync("m"));
        await r.DeleteVersionAsync("m", 2);
        Assert.False(File.Exists(r.FilePath(v2)));
        Assert.True(File.Exists(r.FilePath(v1)));
        // Numbers are never reused, so a cached "m/2" can never mean different weights.
        Assert.Equal(3, (await r.RegisterAsync("m", TestModels.Affine(features: 7))).Version);
        await r.DeleteModelAsync("m", force: true);
        Assert.Empty(await r.ListModelsAsync());
        Assert.False(File.Exists(r.FilePath(v1)));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => r.ResolveAsync("m"));
        await Assert.ThrowsAsync<ModelNotFoundException>(() => r.DeleteModelAsync("m"));
        // Not after deleting the whole model either: the name keeps counting, also when reopened.
        Assert.Equal(4, (await r.RegisterAsync("m", TestModels.Affine(features: 5))).Version);
        await r.DeleteModelAsync("m");
        Assert.Equal(5, (await (await OpenAsync()).RegisterAsync("m", TestModels.Affine(features: 5))).Version);
        await r.DeleteModelAsync("m");
        await r.RegisterAsync("n", TestModels.Affine());
        await r.DeleteModelAsync("n"); // no aliases: no force needed
        Assert.Empty(await r.ListModelsAsync());
    }

    [SkippableFact]
    public async Task Equal_content_shares_one_file_until_the_last_version_goes()
    {
        var r = await OpenAsync();
        var a = await r.RegisterAsync("a", TestModels.Affine());
        var b = await r.RegisterAsync("b", TestModels.Affine());
        Assert.Equal(a.Sha256, b.Sha256);
        await r.DeleteModelAsync("a");
        Assert.True(File.Exists(r.FilePath(b)));
        Assert.Empty(await r.CheckConsistencyAsync());
        await r.DeleteVersionAsync("b", 1);
        Assert.False(File.Exists(r.FilePath(b)));
    }

    [SkippableFact]
    public async Task Reopening_keeps_data_and_applies_migrations_once()
    {
        var r = await OpenAsync();
        await r.RegisterAsync("m", TestModels.Affine());
        await r.SetAliasAsync("m", "production", 1);
        Assert.Equal(Schema.Latest, await r.Store.SchemaVersionAsync());
        var again = await OpenAsync();
        Assert.Equal(Schema.Latest, await again.Store.SchemaVersionAsync());
        Assert.Equal(1, (await again.ResolveAsync("m", "production")).Version);
        Assert.Empty(await again.CheckConsistencyAsync());
    }

    [SkippableFact]
    public async Task Failed_register_leaves_stored_data_intact()
    {
        var r = await OpenAsync();
        var v1 = await r.RegisterAsync("m", TestModels.Affine());
        var files = Directory.GetFiles(Data.Path, "*", SearchOption.AllDirectories).Order().ToList();
        await Assert.ThrowsAsync<InvalidModelException>(() => r.RegisterAsync("m", [1, 2, 3, 4, 5]));
        await Assert.ThrowsAsync<InvalidModelException>(() => r.RegisterAsync("../m", TestModels.Affine()));
        Assert.Equal([v1.Version], (await r.ListVersionsAsync("m")).Select(v => v.Version));
        Assert.Empty(await r.CheckConsistencyAsync());
        Assert.Equal(files, Directory.GetFiles(Data.Path, "*", SearchOption.AllDirectories).Order());
        Assert.Empty(Directory.GetFiles(Path.Combine(Data.Path, "tmp")));
    }

    [SkippableFact]
    public async Task Concurrent_registrations_get_distinct_numbers()
    {
        var r = await OpenAsync();
        var versions = await Task.WhenAll(Enumerable.Range(1, 8).Select(i => Task.Run(() => r.RegisterAsync("m", TestModels.Affine(features: i)))));
        Assert.Equal(Enumerable.Range(1, 8), versions.Select(v => v.Version).Order());
        Assert.Empty(await r.CheckConsistencyAsync());
    }

    public virtual void Dispose()
    {
        foreach (var r in _opened) r.Dispose();
        Data.Dispose();
        GC.SuppressFinalize(this);
    }
}

public sealed class SqliteRegistryTests : RegistryContractTests
{
    protected override Task<ModelRegistry> OpenStoreAsync(string dataDirectory) => ModelRegistry.OpenSqliteAsync(dataDirectory);
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresRegistryTests(PostgresServer server) : RegistryContractTests
{
    private string? _database;

    protected override Task<ModelRegistry> OpenStoreAsync(string dataDirectory)
    {
        server.Require();
        _database ??= server.NewDatabase();
        return ModelRegistry.OpenPostgresAsync(_database, dataDirectory);
    }
}
