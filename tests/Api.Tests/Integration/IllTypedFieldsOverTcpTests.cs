using System.Globalization;
using System.Net;
using System.Text;
using NeuralService.Api.Tests.Support;

namespace NeuralService.Api.Tests.Integration;

/// <summary>Fields of the wrong JSON kind and untrusted file headers over TCP: each is a 400 problem naming what is
/// wrong (never a 500), and no refusal quotes where the server keeps its files.</summary>
public sealed class IllTypedFieldsOverTcpTests(DefaultService service) : IClassFixture<DefaultService>
{
    private readonly ServedModel _s = service.S;
    private const string Infer = "/v2/models/mlp/versions/production/infer";

    [Theory]
    [InlineData("\"1\"")]
    [InlineData("null")]
    [InlineData("true")]
    [InlineData("{}")]
    public async Task AShapeEntryThatIsNotANumberIs400(string entry)
    {
        var body = $$"""{"inputs": [{"name": "{{_s.InputName}}", "shape": [{{entry}}, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]}""";
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync(Infer, TestModels.Json(body)), 400);
        Assert.Contains("shape", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("\"16\"")]
    [InlineData("null")]
    [InlineData("false")]
    [InlineData("[16]")]
    public async Task ABinaryDataSizeThatIsNotANumberIs400(string size)
    {
        var header = Encoding.UTF8.GetBytes($$$"""{"inputs": [{"name": "{{{_s.InputName}}}", "shape": [1, 4], "datatype": "FP32", "parameters": {"binary_data_size": {{{size}}}}}]}""");
        var content = TestModels.Octets([.. header, .. new byte[16]]);
        content.Headers.Add("Inference-Header-Content-Length", header.Length.ToString(CultureInfo.InvariantCulture));
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync(Infer, content), 400);
        Assert.Contains("binary_data_size", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("(65536, 32768)")] // 2^31 elements
    [InlineData("(2147483647, 2147483647)")]
    [InlineData("(1000000,)")] // plausible, but the file holds no data for it
    public async Task AnNpyHeaderDeclaringMoreThanTheFileHoldsIs400(string shape)
    {
        var problem = await UploadNpyAsync(Npy("<f4", shape, 16));
        Assert.Contains(".npy shape (", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task AnIdxHeaderDeclaring2To31ElementsIs400()
    {
        // float32, rank 2: 65536 × 32768, then 16 bytes of data
        byte[] idx = [0, 0, 0x0D, 2, 0, 1, 0, 0, 0, 0, 0x80, 0, .. new byte[16]];
        var problem = await UploadNpyAsync(idx, "x.idx");
        Assert.Contains("IDX shape (65536, 32768)", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task RefusedUploadsDoNotQuoteTheServersDataPath()
    {
        var bytes = Npy("<f4", "(2, 2)", 16);
        bytes[0] = (byte)'X'; // not the magic
        var detail = (await UploadNpyAsync(bytes)).GetProperty("detail").GetString()!;
        Assert.Contains("not a .npy file", detail);
        Assert.DoesNotContain(_s.RootDirectory, detail);
        Assert.DoesNotContain(Path.GetFullPath(_s.DataDirectory), detail);
    }

    private async Task<System.Text.Json.JsonElement> UploadNpyAsync(byte[] npy, string fileName = "x.npy")
    {
        var before = await _s.SnapshotAsync();
        var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(npy), "file", fileName },
            { new StringContent("npy-upload"), "name" },
        };
        var problem = await ProblemAssert.IsProblemAsync(await _s.Client.PostAsync("/v1/datasets", form), 400);
        before.AssertSame(await _s.SnapshotAsync());
        return problem;
    }

    /// <summary>A version 1.0 .npy file with the given header and <paramref name="dataBytes"/> zero bytes of data.</summary>
    private static byte[] Npy(string descr, string shape, int dataBytes)
    {
        var dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        var pad = (64 - (10 + dict.Length + 1) % 64) % 64;
        var header = Encoding.Latin1.GetBytes(dict + new string(' ', pad) + "\n");
        var prefix = new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)(header.Length & 0xff), (byte)(header.Length >> 8) };
        return [.. prefix, .. header, .. new byte[dataBytes]];
    }
}
