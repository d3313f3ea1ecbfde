using NeuralService.Inference.Registry;
using NeuralService.Inference.Tests.Support;

namespace NeuralService.Inference.Tests.Registry;

public sealed class ServingResolveTests
{
    [Fact]
    public async Task OwnWritesShowAtOnceOtherReplicasWithinTheTtl()
    {
        using var data = new TempDirectory();
        using var registry = await ModelRegistry.OpenSqliteAsync(data.Path);
        registry.ServingResolveTtl = TimeSpan.FromMilliseconds(300);
        await registry.RegisterAsync("m", TestModels.Affine());
        await registry.RegisterAsync("m", TestModels.Affine(features: 4));
        await registry.SetAliasAsync("m", "production", 1);
        Assert.Equal(1, (await registry.ResolveForServingAsync("m", "production")).Version);
        Assert.Equal(2, (await registry.ResolveForServingAsync("m", null)).Version);

        // This process's writes: visible on the next request.
        await registry.SetAliasAsync("m", "production", 2);
        Assert.Equal(2, (await registry.ResolveForServingAsync("m", "production")).Version);
        await registry.RegisterAsync("m", TestModels.Affine(features: 5));
        Assert.Equal(3, (await registry.ResolveForServingAsync("m", "latest")).Version);

        // Another replica's write (straight to the shared store): served from the cache until the TTL passes.
        Assert.Equal(2, (await registry.ResolveForServingAsync("m", "production")).Version);
        await registry.Store.SetAliasAsync("m", "production", 1);
        Assert.Equal(2, (await registry.ResolveForServingAsync("m", "production")).Version);
        await Task.Delay(400);
        Assert.Equal(1, (await registry.ResolveForServingAsync("m", "production")).Version);

        registry.ServingResolveTtl = TimeSpan.Zero;
        await registry.Store.SetAliasAsync("m", "production", 3);
        Assert.Equal(3, (await registry.ResolveForServingAsync("m", "production")).Version);
        await Assert.ThrowsAsync<ModelNotFoundException>(() => registry.ResolveForServingAsync("m", "staging"));
    }
}
