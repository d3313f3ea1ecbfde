using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Integration;

/// <summary>A Kestrel service over <c>root/data</c> with the Dense test model registered as <c>mlp</c> v1, aliased
/// <c>production</c>, and a small CSV dataset, so refused requests have something to leave untouched.</summary>
public sealed class ServedModel : IDisposable
{
    public const string Model = "mlp";
    public const string Dataset = "blobs-small";
    private readonly TempDir _root = new();

    public ServedModel(IReadOnlyDictionary<string, string?>? settings = null, string? apiKey = null)
    {
        DataDirectory = Path.Combine(_root.Path, "data");
        Directory.CreateDirectory(DataDirectory);
        Api = new KestrelApi(DataDirectory, settings);
        Client = Api.NewClient();
        if (apiKey is not null) Client.DefaultRequestHeaders.Add("X-Api-Key", apiKey);
        Onnx = TestModels.DenseOnnx();
        InputName = TestModels.InputName(Onnx);
        OutputName = TestModels.OutputName(Onnx);
        Assert.Equal(HttpStatusCode.Created, Client.PostAsync($"/v1/models/{Model}/versions", TestModels.Octets(Onnx)).Result.StatusCode);
        Assert.Equal(HttpStatusCode.OK, Client.PutAsJsonAsync($"/v1/models/{Model}/aliases/production", new { version = 1 }).Result.StatusCode);
        Assert.Equal(HttpStatusCode.Created, Client.PostAsync("/v1/datasets", TestModels.CsvUpload(TestModels.BlobsCsv(30), Dataset)).Result.StatusCode);
    }

    public string RootDirectory => _root.Path;
    public string DataDirectory { get; }
    public KestrelApi Api { get; }
    public HttpClient Client { get; }
    public byte[] Onnx { get; }
    public string InputName { get; }
    public string OutputName { get; }

    public string InferJson(float[] x, int rows, string? datatype = null, int[]? shape = null) => JsonSerializer.Serialize(new
    {
        inputs = new[] { new { name = InputName, shape = shape ?? [rows, 4], datatype = datatype ?? "FP32", data = x } },
    });

    public Task<StoreSnapshot> SnapshotAsync() => StoreSnapshot.TakeAsync(Client, DataDirectory);

    /// <summary>Nothing but the data directory may appear in the root (a path trick would write beside it).</summary>
    public void AssertNothingOutsideTheDataDirectory() =>
        Assert.Equal([DataDirectory], Directory.EnumerateFileSystemEntries(RootDirectory));

    public void Dispose()
    {
        Client.Dispose();
        Api.Dispose();
        _root.Dispose();
    }
}

/// <summary>A <see cref="ServedModel"/> with default settings, shared by the tests of one class.</summary>
public sealed class DefaultService : IDisposable
{
    public ServedModel S { get; } = new();
    public void Dispose() => S.Dispose();
}
