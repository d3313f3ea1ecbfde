using System.Net;
using System.Text;
using System.Text.Json;
using NeuralService.Api.Tests.Support;
using NeuralService.Training.Data;

namespace NeuralService.Api.Tests.Endpoints;

public sealed class DatasetEndpointsTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ApiFactory _app;
    private readonly HttpClient _client;

    public DatasetEndpointsTests()
    {
        _app = new ApiFactory(_dir.Path);
        _client = _app.CreateClient();
    }

    public void Dispose()
    {
        _app.Dispose();
        _dir.Dispose();
    }

    private static async Task<JsonElement> Json(HttpResponseMessage r) => JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task CsvUploadIsParsedListedAndDeleted()
    {
        var created = await _client.PostAsync("/v1/datasets", TestModels.CsvUpload(TestModels.BlobsCsv(12), "blobs"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var info = await Json(created);
        var id = info.GetProperty("id").GetString()!;
        Assert.Equal(12, info.GetProperty("samples").GetInt32());
        Assert.Equal([4], info.GetProperty("feature_shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal("csv", info.GetProperty("format").GetString());

        var list = await Json(await _client.GetAsync("/v1/datasets"));
        Assert.Contains(id, list.GetProperty("datasets").EnumerateArray().Select(d => d.GetProperty("id").GetString()));
        Assert.Equal("blobs", (await Json(await _client.GetAsync($"/v1/datasets/{id}"))).GetProperty("name").GetString());
        Assert.Equal(id, (await Json(await _client.GetAsync("/v1/datasets/blobs"))).GetProperty("id").GetString());

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/v1/datasets/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync($"/v1/datasets/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.DeleteAsync($"/v1/datasets/{id}")).StatusCode);
    }

    [Fact]
    public async Task NpyFeaturesWithLabelsAndGzippedIdx()
    {
        static byte[] Npy(DataArray a) { using var ms = new MemoryStream(); NeuralService.Training.Data.Npy.Write(ms, a); return ms.ToArray(); }
        var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(Npy(DataArray.Create(new float[] { 1, 2, 3, 4, 5, 6 }, 3, 2))), "file", "x.npy" },
            { new ByteArrayContent(Npy(DataArray.Vector(new long[] { 0, 1, 0 }))), "labels", "y.npy" },
            { new StringContent("pairs"), "name" },
        };
        var info = await Json(await _client.PostAsync("/v1/datasets", form));
        Assert.Equal(3, info.GetProperty("samples").GetInt32());
        Assert.Equal([2], info.GetProperty("feature_shape").EnumerateArray().Select(d => d.GetInt32()));

        using var idx = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(idx, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            Idx.Write(gz, DataArray.Create(new byte[2 * 3 * 3], 2, 3, 3));
        var idxForm = new MultipartFormDataContent { { new ByteArrayContent(idx.ToArray()), "file", "images-idx3-ubyte.gz" } };
        var idxInfo = await Json(await _client.PostAsync("/v1/datasets", idxForm));
        Assert.Equal("idx", idxInfo.GetProperty("format").GetString());
        Assert.Equal([3, 3], idxInfo.GetProperty("feature_shape").EnumerateArray().Select(d => d.GetInt32()));
    }

    [Fact]
    public async Task BrokenFilesAreRefusedAndLeaveNothing()
    {
        var r = await _client.PostAsync("/v1/datasets", TestModels.CsvUpload("a,b,label\n1,x,0\n", "broken"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        Assert.Contains("not a number", (await Json(r)).GetProperty("detail").GetString());
        Assert.Empty(Directory.GetDirectories(Path.Combine(_dir.Path, "datasets")));

        var unknown = new MultipartFormDataContent { { new ByteArrayContent(Encoding.UTF8.GetBytes("x")), "file", "thing.bin" } };
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.PostAsync("/v1/datasets", unknown)).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await _client.PostAsync("/v1/datasets", TestModels.Json("{}"))).StatusCode);
    }

    [Fact]
    public async Task BuiltinFashionMnistIsListedWhenInstalled()
    {
        var names = (await Json(await _client.GetAsync("/v1/datasets"))).GetProperty("datasets").EnumerateArray().Select(d => d.GetProperty("name").GetString()).ToList();
        var installed = File.Exists(Path.Combine(BuiltinDatasets.FashionMnistDirectory, "train-images-idx3-ubyte.gz"));
        Assert.Equal(installed, names.Contains("fashion-mnist"));
        if (!installed) return;
        var info = await Json(await _client.GetAsync("/v1/datasets/fashion-mnist:test"));
        Assert.Equal(10000, info.GetProperty("samples").GetInt32());
        Assert.True(info.GetProperty("builtin").GetBoolean());
        Assert.Equal(HttpStatusCode.Conflict, (await _client.DeleteAsync("/v1/datasets/fashion-mnist")).StatusCode);
    }

    /// <summary>Real MNIST (scripts/datasets.sh, which test.sh runs): fails, not skips, when it is not installed.</summary>
    [Fact]
    public async Task BuiltinMnistIsListed()
    {
        var names = (await Json(await _client.GetAsync("/v1/datasets"))).GetProperty("datasets").EnumerateArray().Select(d => d.GetProperty("name").GetString()).ToList();
        Assert.True(names.Contains("mnist") && names.Contains("mnist:test"),
            $"mnist is not listed ({string.Join(", ", names)}): is it installed in {BuiltinDatasets.MnistDirectory()}? (scripts/datasets.sh)");
        var info = await Json(await _client.GetAsync("/v1/datasets/mnist:test"));
        Assert.Equal(2004, info.GetProperty("samples").GetInt32());
        Assert.True(info.GetProperty("builtin").GetBoolean());
        Assert.Equal(HttpStatusCode.Conflict, (await _client.DeleteAsync("/v1/datasets/mnist")).StatusCode);
    }
}
