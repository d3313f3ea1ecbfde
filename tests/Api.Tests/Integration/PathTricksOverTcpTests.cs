using System.Text.Json;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Names that try to leave their place (<c>..</c>, encoded slashes, absolute paths, very long names, NUL) in
/// model names, aliases, versions, dataset names and ids, job ids and register_as, sent byte for byte over a socket:
/// 400 or 404 problem details, nothing stored changes, nothing appears beside the data directory.</summary>
public sealed class PathTricksOverTcpTests(DefaultService service) : IClassFixture<DefaultService>
{
    private readonly ServedModel _s = service.S;
    private static readonly string Long = new('a', 300);

    public static TheoryData<string, string, string?> Targets => new()
    {
        { "GET", "/v1/models/..", null },
        { "GET", "/v1/models/%2e%2e", null },
        { "GET", "/v1/models/%2e%2e%2f%2e%2e%2fetc%2fpasswd", null },
        { "GET", "/v1/models/..%2F..%2Fregistry.db", null },
        { "GET", "/v1/models/%2Fetc%2Fpasswd/versions/1/onnx", null },
        { "GET", "/v1/models/mlp/versions/..%2F..%2Fregistry.db/onnx", null },
        { "GET", "/v1/models/mlp/versions/%2e%2e/onnx", null },
        { "GET", $"/v1/models/{Long}", null },
        { "POST", "/v1/models/%2e%2e%2fevil/versions", "model bytes" },
        { "POST", "/v1/models/a%2Fb/versions", "model bytes" },
        { "POST", "/v1/models/%2Ftmp%2Fevil/versions", "model bytes" },
        { "POST", "/v1/models/C:%5Cevil/versions", "model bytes" },
        { "POST", $"/v1/models/{Long}/versions", "model bytes" },
        { "DELETE", "/v1/models/..%2Fmlp", null },
        { "PUT", "/v1/models/mlp/aliases/..%2F..%2Fevil", """{"version": 1}""" },
        { "PUT", "/v1/models/mlp/aliases/a%2Fb", """{"version": 1}""" },
        { "PUT", "/v1/models/mlp/aliases/%2Fevil", """{"version": 1}""" },
        { "PUT", $"/v1/models/mlp/aliases/{Long}", """{"version": 1}""" },
        { "PUT", "/v1/models/..%2Fmlp/aliases/production", """{"version": 1}""" },
        { "POST", "/v2/models/..%2Fmlp/infer", """{"inputs": []}""" },
        { "POST", "/v2/models/mlp/versions/..%2F1/infer", """{"inputs": []}""" },
        { "POST", "/v1/models/..%2Fmlp:predict", """{"instances": [[1, 2, 3, 4]]}""" },
        { "GET", "/v1/datasets/..%2F..%2Fregistry.db", null },
        { "GET", "/v1/datasets/%2Fetc%2Fpasswd", null },
        { "DELETE", "/v1/datasets/..%2Fdatasets", null },
        { "DELETE", "/v1/datasets/%2e%2e", null },
        { "GET", "/v1/jobs/..%2F..%2Fregistry.db", null },
        { "GET", "/v1/jobs/%2e%2e%2fx/events", null },
        { "POST", "/v1/jobs/..%2Fx/cancel", null },
        { "GET", $"/v1/jobs/{Long}", null },
    };

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task TrickyPathsAre400Or404ProblemsAndWriteNothing(string method, string target, string? body)
    {
        var before = await _s.SnapshotAsync();
        var r = await RawHttp.SendAsync(_s.Api.BaseAddress, method, target, body, body is null || body.StartsWith('{') ? "application/json" : "application/octet-stream");
        Assert.True(r.Status is 400 or 404, $"{method} {target}: {r.Status} {r.Body}");
        Assert.True(r.ContentType == "application/problem+json", $"{method} {target}: {r.Status} as '{r.ContentType}': {r.Body}");
        Assert.False(string.IsNullOrWhiteSpace(JsonDocument.Parse(r.Body).RootElement.GetProperty("detail").GetString()));
        before.AssertSame(await _s.SnapshotAsync());
        _s.AssertNothingOutsideTheDataDirectory();
    }

    [Theory]
    [InlineData("POST", "/v1/models/evil%00name/versions")]
    [InlineData("PUT", "/v1/models/mlp/aliases/x%00y")]
    [InlineData("DELETE", "/v1/datasets/x%00y")]
    [InlineData("GET", "/v1/jobs/x%00y")]
    public async Task AnEncodedNulInThePathIsRefusedByKestrelBeforeTheApp(string method, string target)
    {
        // Kestrel rejects the request line itself (400, empty body, connection closed): no middleware runs, so this is
        // the one refusal without a problem body; nothing reaches the registry or the disk.
        var before = await _s.SnapshotAsync();
        var r = await RawHttp.SendAsync(_s.Api.BaseAddress, method, target, method is "GET" or "DELETE" ? null : """{"version": 1}""");
        Assert.Equal(400, r.Status);
        Assert.Equal("", r.Body);
        before.AssertSame(await _s.SnapshotAsync());
        _s.AssertNothingOutsideTheDataDirectory();
    }

    public static TheoryData<string> BadNames => new() { "..", "../evil", "..%2fevil", "a/b", "/tmp/evil", "C:\\evil", Long, "evil\0name", "" };

    [Theory]
    [MemberData(nameof(BadNames))]
    public async Task TrickyDatasetNamesAreRefused(string name)
    {
        var before = await _s.SnapshotAsync();
        var r = await _s.Client.PostAsync("/v1/datasets", TestModels.CsvUpload(TestModels.BlobsCsv(9), name, fileName: "../../evil.csv"));
        if (name.Length == 0)
        {
            // No name: the file's own name (without its path) is used, and "evil" is a fine name; stored inside datasets/.
            Assert.Equal(System.Net.HttpStatusCode.Created, r.StatusCode);
            var created = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
            Assert.Equal("evil", created.GetProperty("name").GetString());
            Assert.Equal(System.Net.HttpStatusCode.NoContent, (await _s.Client.DeleteAsync($"/v1/datasets/{created.GetProperty("id").GetString()}")).StatusCode);
        }
        else await ProblemAssert.IsProblemAsync(r, 400);
        before.AssertSame(await _s.SnapshotAsync());
        _s.AssertNothingOutsideTheDataDirectory();
    }

    [Theory]
    [MemberData(nameof(BadNames))]
    public async Task TrickyRegisterAsAndDatasetReferencesInJobsAreRefused(string name)
    {
        var before = await _s.SnapshotAsync();
        var model = JsonDocument.Parse(TestModels.DenseJson).RootElement;
        var badTarget = await _s.Client.PostAsync("/v1/jobs", TestModels.Json(JsonSerializer.Serialize(new { model, dataset = ServedModel.Dataset, register_as = name })));
        await ProblemAssert.IsProblemAsync(badTarget, 400);
        if (name.Length > 0)
        {
            var badData = await _s.Client.PostAsync("/v1/jobs", TestModels.Json(JsonSerializer.Serialize(new { model, dataset = name, register_as = "fine" })));
            await ProblemAssert.IsProblemAsync(badData, 404);
        }
        before.AssertSame(await _s.SnapshotAsync());
        _s.AssertNothingOutsideTheDataDirectory();
    }
}
