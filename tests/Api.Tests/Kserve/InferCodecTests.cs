using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using NeuralService.Api.Errors;
using NeuralService.Api.Kserve;
using NeuralService.Inference.Engine;
using NeuralService.Inference.Registry;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Api.Tests.Kserve;

public sealed class InferCodecTests
{
    private static readonly ModelVersion Version = new("m", 3, "", 0, 17, new Signature([], []), new Dictionary<string, string>(), null,
        new Dictionary<string, string>(), DateTimeOffset.UnixEpoch);

    [Fact]
    public void NestedJsonDataIsFlattenedRowMajor()
    {
        var r = InferCodec.Parse(Encoding.UTF8.GetBytes("""{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "INT64", "data": [[1, 2], [3, 4]]}]}"""), null);
        Assert.Equal([1L, 2, 3, 4], r.Inputs[0].As<long>());
        Assert.Equal([2L, 2], r.Inputs[0].Dims);
        Assert.Null(r.Outputs);
    }

    [Fact]
    public void RaggedOrOutOfRangeDataIsRefused()
    {
        Assert.Throws<ApiException>(() => InferCodec.Parse(Encoding.UTF8.GetBytes("""{"inputs": [{"name": "x", "shape": [2, 2], "datatype": "FP32", "data": [[1, 2], [3]]}]}"""), null));
        Assert.Throws<ApiException>(() => InferCodec.Parse(Encoding.UTF8.GetBytes("""{"inputs": [{"name": "x", "shape": [1], "datatype": "UINT8", "data": [300]}]}"""), null));
        Assert.Throws<ApiException>(() => InferCodec.Parse(Encoding.UTF8.GetBytes("""{"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": []}]}"""), null));
    }

    [Fact]
    public void BinaryInputsIncludingLengthPrefixedStrings()
    {
        var floats = new byte[8];
        BinaryPrimitives.WriteSingleLittleEndian(floats, 1.5f);
        BinaryPrimitives.WriteSingleLittleEndian(floats.AsSpan(4), -2f);
        var strings = new byte[] { 2, 0, 0, 0, (byte)'h', (byte)'i', 0, 0, 0, 0 };
        var header = Encoding.UTF8.GetBytes("""
            {"inputs": [{"name": "a", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},
                        {"name": "s", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 10}}],
             "parameters": {"binary_data_output": true}}
            """);
        var r = InferCodec.Parse([.. header, .. floats, .. strings], header.Length);
        Assert.Equal([1.5f, -2f], r.Inputs[0].As<float>());
        Assert.Equal(["hi", ""], r.Inputs[1].Strings!);
        Assert.True(r.BinaryByDefault);
        Assert.Throws<ApiException>(() => InferCodec.Parse([.. header, .. floats, .. strings, 9], header.Length));
    }

    [Fact]
    public void ResponsesMixJsonAndBinaryOutputsAsRequested()
    {
        var request = new InferRequest("7", [], [("y", true), ("z", false)], false);
        var y = NamedTensor.Create("y", new[] { 1f, 2f }, 2);
        var z = NamedTensor.Create("z", new[] { float.NaN, 4f }, 1, 2);
        var (body, header) = InferCodec.Write(Version, request, [y, z]);
        Assert.NotNull(header);
        var json = JsonDocument.Parse(body.AsMemory(0, header!.Value)).RootElement;
        Assert.Equal("3", json.GetProperty("model_version").GetString());
        Assert.Equal("7", json.GetProperty("id").GetString());
        Assert.Equal(8, json.GetProperty("outputs")[0].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal([1f, 2f], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(body.AsSpan(header.Value)).ToArray());
        var data = json.GetProperty("outputs")[1].GetProperty("data");
        Assert.Equal("NaN", data[0].GetString());
        Assert.Equal(4f, data[1].GetSingle());
    }

    [Fact]
    public void PredictStacksInstancesInTheSignaturesTypes()
    {
        var signature = new Signature([new TensorSpec("x", "int32", [DimSpec.Sym("batch"), DimSpec.Of(2)])], []);
        var inputs = PredictCodec.Parse(Encoding.UTF8.GetBytes("""{"instances": [[1, 2], [3, 4], [5, 6]]}"""), signature);
        Assert.Equal(DataType.Int32, inputs[0].ElementType);
        Assert.Equal([3L, 2], inputs[0].Dims);
        Assert.Equal([1, 2, 3, 4, 5, 6], inputs[0].As<int>());
        Assert.Throws<ApiException>(() => PredictCodec.Parse(Encoding.UTF8.GetBytes("""{"instances": [[1, 2], [3]]}"""), signature));

        var rows = JsonDocument.Parse(PredictCodec.Write([NamedTensor.Create("p", new[] { 1f, 2f, 3f, 4f }, 2, 2)])).RootElement.GetProperty("predictions");
        Assert.Equal("[[1,2],[3,4]]", rows.GetRawText());
    }
}
