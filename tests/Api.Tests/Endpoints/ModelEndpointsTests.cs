using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Endpoints;

public sealed class ModelEndpointsTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ApiFactory _app;
    private readonly HttpClient _client;

    public ModelEndpointsTests()
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
    public async Task UploadListGetAliasDownloadAndDeleteRules()
    {
        var onnx = TestModels.DenseOnnx();
        var created = await _client.PostAsync("/v1/models/iris/versions?description=first", TestModels.Octets(onnx));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Equal("/v1/models/iris/versions/1", created.Headers.Location!.ToString());
        var v1 = await Json(created);
        Assert.Equal(1, v1.GetProperty("version").GetInt32());
        var input = v1.GetProperty("inputs")[0];
        Assert.Equal("FP32", input.GetProperty("datatype").GetString());
        Assert.Equal([-1L, 4L], input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));

        // Second version as multipart.
        var form = new MultipartFormDataContent { { new ByteArrayContent(onnx), "file", "model.onnx" } };
        Assert.Equal(HttpStatusCode.Created, (await _client.PostAsync("/v1/models/iris/versions", form)).StatusCode);

        var list = await Json(await _client.GetAsync("/v1/models"));
        Assert.Equal(["iris"], list.GetProperty("models").EnumerateArray().Select(m => m.GetProperty("name").GetString()));
        Assert.Equal(2, list.GetProperty("models")[0].GetProperty("latest_version").GetInt32());
        var model = await Json(await _client.GetAsync("/v1/models/iris"));
        Assert.Equal(2, model.GetProperty("latest_version").GetInt32());
        Assert.Equal(2, model.GetProperty("versions").GetArrayLength());

        var alias = await _client.PutAsJsonAsync("/v1/models/iris/aliases/production", new { version = 1 });
        Assert.Equal(HttpStatusCode.OK, alias.StatusCode);
        // A lean answer: the alias, not the whole model with every version.
        Assert.Equal("""{"model":"iris","alias":"production","version":1}""", await alias.Content.ReadAsStringAsync());
        Assert.Equal("""{"model":"iris","alias":"production","version":1}""", await _client.GetStringAsync("/v1/models/iris/aliases/production"));
        await NeuralService.Api.Tests.Integration.ProblemAssert.IsProblemAsync(await _client.GetAsync("/v1/models/iris/aliases/staging"), 404);
        var listed = (await Json(await _client.GetAsync("/v1/models"))).GetProperty("models")[0];
        Assert.Equal(1, listed.GetProperty("aliases").GetProperty("production").GetInt32());
        Assert.Equal(2, listed.GetProperty("latest_version").GetInt32());
        Assert.Equal(1, (await Json(await _client.GetAsync("/v1/models/iris/versions/production"))).GetProperty("version").GetInt32());
        Assert.Equal(2, (await Json(await _client.GetAsync("/v1/models/iris/versions/latest"))).GetProperty("version").GetInt32());

        var download = await _client.GetAsync("/v1/models/iris/versions/production/onnx");
        Assert.Equal("application/octet-stream", download.Content.Headers.ContentType!.MediaType);
        Assert.Equal(onnx, await download.Content.ReadAsByteArrayAsync());

        // Delete rules: an aliased version and a model with aliases are refused; the data stays.
        var conflict = await _client.DeleteAsync("/v1/models/iris/versions/1");
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("application/problem+json", conflict.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.Conflict, (await _client.DeleteAsync("/v1/models/iris")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync("/v1/models/iris/versions/1")).StatusCode);

        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync("/v1/models/iris/versions/2")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/v1/models/iris/versions/2")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync("/v1/models/iris/aliases/production")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.DeleteAsync("/v1/models/iris/aliases/production")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _client.DeleteAsync("/v1/models/iris")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/v1/models/iris")).StatusCode);
        Assert.Empty(Directory.GetFiles(Path.Combine(_dir.Path, "blobs"), "*.onnx"));
    }

    [Fact]
    public async Task BadUploadsAreProblemsAndLeaveNothingBehind()
    {
        var garbage = await _client.PostAsync("/v1/models/bad/versions", TestModels.Octets([1, 2, 3, 4, 5]));
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        var problem = await Json(garbage);
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("detail").GetString()));

        var badName = await _client.PostAsync("/v1/models/..x/versions", TestModels.Octets(TestModels.DenseOnnx()));
        Assert.Equal(HttpStatusCode.BadRequest, badName.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/v1/models/nothing/versions/1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.GetAsync("/v1/models/nothing")).StatusCode);
        Assert.Empty((await Json(await _client.GetAsync("/v1/models"))).GetProperty("models").EnumerateArray());
    }

    [Fact]
    public async Task AliasesMustNotLookLikeVersions()
    {
        await _client.PostAsync("/v1/models/m/versions", TestModels.Octets(TestModels.DenseOnnx()));
        Assert.Equal(HttpStatusCode.BadRequest, (await _client.PutAsJsonAsync("/v1/models/m/aliases/7", new { version = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _client.PutAsJsonAsync("/v1/models/m/aliases/prod", new { version = 9 })).StatusCode);
    }

    [Fact]
    public async Task UploadsOverTheLimitAre413()
    {
        using var dir = new TempDir();
        using var app = new ApiFactory(dir.Path, new Dictionary<string, string?> { ["Neural:Limits:MaxUploadBytes"] = "2048" });
        var client = app.CreateClient();
        var r = await client.PostAsync("/v1/models/big/versions", TestModels.Octets(new byte[4096]));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        Assert.Equal("application/problem+json", r.Content.Headers.ContentType!.MediaType);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/v1/models/big")).StatusCode);
    }
}
