using System.Security.Cryptography;

namespace NeuralService.Api.Tests.Integration;

/// <summary>What the service has stored, seen from outside (the list endpoints) and on disk (model blobs, dataset
/// folders): two snapshots around refused requests must be equal.</summary>
public sealed record StoreSnapshot(string Models, string Datasets, string Jobs, IReadOnlyList<string> Files)
{
    public static async Task<StoreSnapshot> TakeAsync(HttpClient client, string dataDirectory) => new(
        await client.GetStringAsync("/v1/models"), await client.GetStringAsync("/v1/datasets"), await client.GetStringAsync("/v1/jobs"),
        new[] { "blobs", "datasets" }
            .Select(d => Path.Combine(dataDirectory, d)).Where(Directory.Exists)
            .SelectMany(d => Directory.EnumerateFiles(d, "*", SearchOption.AllDirectories))
            .Select(f => $"{Path.GetRelativePath(dataDirectory, f)} {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f)))}")
            .Order(StringComparer.Ordinal).ToList());

    public void AssertSame(StoreSnapshot after)
    {
        Assert.Equal(Models, after.Models);
        Assert.Equal(Datasets, after.Datasets);
        Assert.Equal(Jobs, after.Jobs);
        Assert.Equal(Files, after.Files);
    }
}
