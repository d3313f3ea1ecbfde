using System.Globalization;
using System.Net;
using System.Text.Json;
using NeuralService.Api.Tests.Support;
using NeuralService.Training.Data;
using static NeuralService.Api.Tests.Jobs.JobTestHelpers;

namespace NeuralService.Api.Tests.Endpoints;

/// <summary>GET /v1/datasets/{id}/samples/{index}: one sample's values and label, for uploads and built-ins; bad
/// indices, unknown datasets and path tricks are 4xx problem details.</summary>
public sealed class DatasetSamplesTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ApiFactory _app;
    private readonly HttpClient _client;

    public DatasetSamplesTests()
    {
        _app = new ApiFactory(_dir.Path);
        _client = _app.CreateClient();
    }

    public void Dispose()
    {
        _app.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task AnUploadedSampleIsItsCsvRowAndLabel()
    {
        var id = await UploadBlobsAsync(_client, "blobs", rows: 30);
        var rows = TestModels.BlobsCsv(30).Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
            .Select(l => l.Split(',').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray()).ToList();
        foreach (var (reference, i) in new[] { (id, 0), ("blobs", 17), (id, 29) })
        {
            var s = JsonDocument.Parse(await _client.GetStringAsync($"/v1/datasets/{reference}/samples/{i}")).RootElement;
            Assert.Equal(i, s.GetProperty("index").GetInt32());
            Assert.Equal(30, s.GetProperty("samples").GetInt32());
            Assert.Equal([4], s.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
            var values = s.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.Equal(rows[i][..4], values, (a, b) => Math.Abs(a - b) < 1e-6);
            Assert.Equal(rows[i][4], s.GetProperty("label").GetDouble());
        }
    }

    /// <summary>A page steps through an upload's samples one request at a time: the upload is parsed once, not per sample
    /// (its stored files are not read again), and deleting it still ends its samples.</summary>
    [Fact]
    public async Task AnUploadIsParsedOnceForARunOfSamples()
    {
        var id = await UploadBlobsAsync(_client, "kept", rows: 30);
        var first = JsonDocument.Parse(await _client.GetStringAsync($"/v1/datasets/{id}/samples/3")).RootElement;
        var stored = Directory.GetFiles(Path.Combine(_dir.Path, "datasets", id), "features*").Single();
        await File.WriteAllTextAsync(stored, "not,a,csv\n");
        var again = JsonDocument.Parse(await _client.GetStringAsync($"/v1/datasets/{id}/samples/3")).RootElement;
        Assert.Equal(first.GetProperty("values").GetRawText(), again.GetProperty("values").GetRawText());
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync($"/v1/datasets/{id}/samples/29")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync($"/v1/datasets/{id}")).StatusCode);
        var gone = await _client.GetAsync($"/v1/datasets/{id}/samples/3");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Equal("application/problem+json", gone.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ABuiltinSampleIsTheImageAndLabelOfItsIdxFiles()
    {
        var (images, labels) = BuiltinDatasets.Files("fashion-mnist:test");
        var x = Idx.Read(images);
        var y = Idx.Read(labels);
        foreach (var i in new[] { 0, 4321, 9999 })
        {
            var s = JsonDocument.Parse(await _client.GetStringAsync($"/v1/datasets/fashion-mnist:test/samples/{i}")).RootElement;
            Assert.Equal([28, 28], s.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
            Assert.Equal("uint8", s.GetProperty("datatype").GetString());
            var expected = Enumerable.Range(i * 784, 784).Select(k => x.GetDouble(k)).ToArray();
            Assert.Equal(expected, s.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray());
            var label = (int)y.GetDouble(i);
            Assert.Equal(label, s.GetProperty("label").GetInt32());
            Assert.Equal(BuiltinDatasets.FashionMnistClasses[label], s.GetProperty("label_name").GetString());
            Assert.Equal(10, s.GetProperty("class_names").GetArrayLength());
        }
    }

    [Theory]
    [InlineData("/v1/datasets/blobs/samples/30", HttpStatusCode.NotFound)]
    [InlineData("/v1/datasets/blobs/samples/-1", HttpStatusCode.BadRequest)]
    [InlineData("/v1/datasets/blobs/samples/1.5", HttpStatusCode.BadRequest)]
    [InlineData("/v1/datasets/blobs/samples/abc", HttpStatusCode.BadRequest)]
    [InlineData("/v1/datasets/blobs/samples/99999999999", HttpStatusCode.BadRequest)]
    [InlineData("/v1/datasets/blobs/samples/%2B1", HttpStatusCode.BadRequest)]
    [InlineData("/v1/datasets/no-such-set/samples/0", HttpStatusCode.NotFound)]
    [InlineData("/v1/datasets/fashion-mnist:test/samples/10000", HttpStatusCode.NotFound)]
    [InlineData("/v1/datasets/..%2F..%2Fetc/samples/0", HttpStatusCode.NotFound)]
    [InlineData("/v1/datasets/%2Fetc%2Fpasswd/samples/0", HttpStatusCode.NotFound)]
    [InlineData("/v1/datasets/ds-000000000000/samples/0", HttpStatusCode.NotFound)]
    public async Task BadIndicesUnknownDatasetsAndPathTricksAreProblems(string path, HttpStatusCode status)
    {
        await UploadBlobsAsync(_client, "blobs", rows: 30);
        var r = await _client.GetAsync(path);
        Assert.Equal(status, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.DoesNotContain(_dir.Path, problem.GetRawText());
    }
}
