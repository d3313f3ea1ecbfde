using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Integration;

/// <summary>The service with <c>Neural:Limits:MaxRequestBytes</c> at 4 KiB.</summary>
public sealed class SmallBodyLimit : IDisposable
{
    public const int MaxRequestBytes = 4096;
    public ServedModel S { get; } = new(new Dictionary<string, string?> { ["Neural:Limits:MaxRequestBytes"] = MaxRequestBytes.ToString(System.Globalization.CultureInfo.InvariantCulture) });
    public void Dispose() => S.Dispose();
}

/// <summary>Oversized bodies (413, with and without Content-Length) and bodies of the wrong media type (415).</summary>
public sealed class BodyLimitsOverTcpTests(SmallBodyLimit limit) : IClassFixture<SmallBodyLimit>
{
    private readonly ServedModel _s = limit.S;

    /// <summary>A body sent with chunked transfer encoding: the server learns its size only by reading it.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly byte[] _bytes;

        public ChunkedContent(string text)
        {
            _bytes = Encoding.UTF8.GetBytes(text);
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        /// <summary>One write (one chunk): the whole body is in the socket's buffer before the server answers. Written
        /// in pieces, a piece sent after the server had answered 413 and closed the connection failed with a broken pipe
        /// and the client never read the answer (a race the test lost on a fast run).</summary>
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(_bytes);
            await stream.FlushAsync();
        }
        protected override bool TryComputeLength(out long length) { length = 0; return false; }
    }

    private string BigInfer() => _s.InferJson(TestModels.Inputs(400, 4), 400);
    private static string BigPredict() => JsonSerializer.Serialize(new { instances = TestModels.Inputs(400, 4).Chunk(4) });
    private static string BigJob() => JsonSerializer.Serialize(new { dataset = ServedModel.Dataset, register_as = "big", model = new string('x', 8000) });

    public static TheoryData<string, string> Oversized => new() { { "infer", "length" }, { "infer", "chunked" }, { "predict", "length" }, { "predict", "chunked" }, { "jobs", "length" }, { "jobs", "chunked" } };

    [Theory]
    [MemberData(nameof(Oversized))]
    public async Task BodiesOverTheLimitAre413AndStoreNothing(string endpoint, string transfer)
    {
        var (path, body) = endpoint switch
        {
            "infer" => ("/v2/models/mlp/infer", BigInfer()),
            "predict" => ("/v1/models/mlp:predict", BigPredict()),
            _ => ("/v1/jobs", BigJob()),
        };
        Assert.True(Encoding.UTF8.GetByteCount(body) > SmallBodyLimit.MaxRequestBytes);
        var before = await _s.SnapshotAsync();
        HttpContent content = transfer == "chunked" ? new ChunkedContent(body) : TestModels.Json(body);
        await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync(path, content), 413);
        before.AssertSame(await _s.SnapshotAsync());
    }

    [Fact]
    public async Task OversizedBinaryTensorsAre413()
    {
        var raw = new byte[SmallBodyLimit.MaxRequestBytes * 2];
        var header = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new
        {
            inputs = new[] { new { name = _s.InputName, shape = new[] { raw.Length / 16, 4 }, datatype = "FP32", parameters = new { binary_data_size = raw.Length } } },
        }));
        var content = TestModels.Octets([.. header, .. raw]);
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync("/v2/models/mlp/infer", content), 413);
    }

    [Fact]
    public async Task BodiesUnderTheLimitStillServe()
    {
        var r = await _s.Client.PostAsync("/v2/models/mlp/infer", new ChunkedContent(_s.InferJson(TestModels.Inputs(2, 4), 2)));
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    [Fact]
    public async Task InferenceWithoutAContentTypeIsReadAsJson()
    {
        // Routing refuses a wrong Content-Type but lets a missing one through, and the infer body is JSON unless
        // Inference-Header-Content-Length says otherwise.
        var r = await _s.Client.PostAsync("/v2/models/mlp/infer", new ByteArrayContent(Encoding.UTF8.GetBytes(_s.InferJson([1, 2, 3, 4], 1))));
        Assert.Null(r.RequestMessage!.Content!.Headers.ContentType);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
    }

    public static TheoryData<string, string, string> WrongMediaTypes => new()
    {
        { "POST", "/v1/jobs", "text/plain" },
        { "POST", "/v1/jobs", "application/x-www-form-urlencoded" },
        { "POST", "/v2/models/mlp/infer", "text/plain" },
        { "POST", "/v2/models/mlp/versions/1/infer", "application/x-www-form-urlencoded" },
        { "POST", "/v1/models/mlp:predict", "text/xml" },
        { "PUT", "/v1/models/mlp/aliases/staging", "text/plain" },
        { "POST", "/v1/datasets", "application/json" },
    };

    [Theory]
    [MemberData(nameof(WrongMediaTypes))]
    public async Task WrongContentTypesAre415AndStoreNothing(string method, string path, string mediaType)
    {
        var body = path switch
        {
            "/v1/jobs" => JsonSerializer.Serialize(new { dataset = ServedModel.Dataset, register_as = "x", model = JsonDocument.Parse(TestModels.DenseJson).RootElement }),
            "/v1/models/mlp:predict" => """{"instances": [[1, 2, 3, 4]]}""",
            "/v1/models/mlp/aliases/staging" => """{"version": 1}""",
            "/v1/datasets" => """{"name": "x"}""",
            _ => _s.InferJson([1, 2, 3, 4], 1),
        };
        var before = await _s.SnapshotAsync();
        var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent(body, Encoding.UTF8, mediaType) };
        await ProblemAssert.IsProblemAsync(await _s.Client.SendAsync(request), 415);
        before.AssertSame(await _s.SnapshotAsync());
    }
}
