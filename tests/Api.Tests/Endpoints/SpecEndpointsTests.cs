using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Endpoints;

/// <summary>GET /v1/specs lists exactly the files of onnx-models/specs (embedded at build time) and serves each one's
/// Keras JSON unchanged; a name that is not one of them, however it is spelled, is a 404 problem and reads no file.</summary>
public sealed class SpecEndpointsTests : IDisposable
{
    private readonly TempDir _dir = new();
    private readonly ApiFactory _app;
    private readonly HttpClient _client;

    public SpecEndpointsTests()
    {
        _app = new ApiFactory(_dir.Path);
        _client = _app.CreateClient();
    }

    public void Dispose()
    {
        _client.Dispose();
        _app.Dispose();
        _dir.Dispose();
    }

    private static string SpecsDirectory()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "NeuralService.sln"))) return Path.Combine(d.FullName, "onnx-models", "specs");
        throw new DirectoryNotFoundException("no NeuralService.sln above the test directory");
    }

    [Fact]
    public async Task ListsEverySpecFileWithItsShapesAndServesItsJsonUnchanged()
    {
        var files = Directory.GetFiles(SpecsDirectory(), "*.json").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count >= 10, $"only {files.Count} spec files");
        var list = JsonDocument.Parse(await _client.GetStringAsync("/v1/specs")).RootElement.GetProperty("specs");
        Assert.Equal(files, list.EnumerateArray().Select(s => s.GetProperty("name").GetString()));

        var mlp = list.EnumerateArray().Single(s => s.GetProperty("name").GetString() == "mlp");
        Assert.Equal([784], mlp.GetProperty("inputs")[0].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal([10], mlp.GetProperty("outputs")[0].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal(784 * 64 + 64 + 64 * 32 + 32 + 32 * 10 + 10, mlp.GetProperty("parameters").GetInt32());
        Assert.Contains("[784] → output [10]", mlp.GetProperty("description").GetString());
        Assert.Equal(2, list.EnumerateArray().Single(s => s.GetProperty("name").GetString() == "two_input").GetProperty("inputs").GetArrayLength());

        foreach (var name in files)
        {
            var response = await _client.GetAsync($"/v1/specs/{name}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var spec = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
            Assert.Equal(name, (string?)spec["name"]);
            var onDisk = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(SpecsDirectory(), name + ".json")));
            Assert.True(JsonNode.DeepEquals(onDisk, spec["model"]), $"{name}: served JSON differs from the file");
        }
    }

    [Theory]
    [InlineData("/v1/specs/nope")]
    [InlineData("/v1/specs/mlp.json")]
    [InlineData("/v1/specs/MLP")]
    [InlineData("/v1/specs/..%2Fspecs%2Fmlp")]
    [InlineData("/v1/specs/..%2F..%2F..%2Fetc%2Fpasswd")]
    [InlineData("/v1/specs/%2E%2E%2Fmlp")]
    [InlineData("/v1/specs/..%5Cmlp")]
    [InlineData("/v1/specs/specs.mlp")]
    [InlineData("/v1/specs/%2Fetc%2Fpasswd")]
    public async Task AnythingButAListedNameIsANotFoundProblem(string url)
    {
        var response = await _client.GetAsync(new Uri(url, UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(404, problem.GetProperty("status").GetInt32());
        Assert.DoesNotContain("root:", problem.ToString());
    }

    [Fact]
    public async Task AnUnknownNameListsTheSpecs()
    {
        var problem = JsonDocument.Parse(await (await _client.GetAsync("/v1/specs/resnet")).Content.ReadAsStringAsync()).RootElement;
        Assert.StartsWith("no spec 'resnet'", problem.GetProperty("detail").GetString());
        Assert.Contains("mnist_cnn", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task PathTricksInTheRawRequestLineNeverReachAFile()
    {
        // HttpClient folds "../" before sending; a raw request line keeps it, so the server's own handling is tested.
        using var dir = new TempDir();
        using var api = new KestrelApi(dir.Path);
        foreach (var target in new[] { "/v1/specs/../../onnx-models/specs/mlp.json", "/v1/specs/..%2F..%2Fonnx-models%2Fspecs%2Fmlp.json",
                     "/v1/specs/%2e%2e%2Fmlp", "/v1/specs/..%5C..%5Cmlp.json" })
        {
            using var tcp = new System.Net.Sockets.TcpClient();
            await tcp.ConnectAsync(api.BaseAddress.Host, api.BaseAddress.Port);
            await using var stream = tcp.GetStream();
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
            var answer = await new StreamReader(stream).ReadToEndAsync();
            var status = int.Parse(answer.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(status is >= 400 and < 500, $"{target}: {answer}");
            Assert.DoesNotContain("\"class_name\"", answer);
        }
    }
}
