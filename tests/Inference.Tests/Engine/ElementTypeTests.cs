using NeuralService.Inference.Engine;
using NeuralService.Inference.Tests.Support;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Inference.Tests.Engine;

/// <summary>Every ONNX tensor element type goes in and comes out unchanged (through Identity, batched).</summary>
public sealed class ElementTypeTests
{
    public static TheoryData<DataType> Types =>
    [
        DataType.Float, DataType.Double, DataType.Float16, DataType.Bfloat16,
        DataType.Int8, DataType.Int16, DataType.Int32, DataType.Int64,
        DataType.Uint8, DataType.Uint16, DataType.Uint32, DataType.Uint64, DataType.Bool,
    ];

    [Theory]
    [MemberData(nameof(Types))]
    public async Task Fixed_size_types_round_trip(DataType type)
    {
        await using var f = await EngineFixture.CreateAsync(new BatchingOptions { MaxQueueDelay = TimeSpan.FromMilliseconds(20) });
        var v = await f.Registry.RegisterAsync("id", TestModels.Identity(type, "n", 2));
        var size = NeuralService.Graph.Onnx.DataTypes.ByteSize(type);
        // Bool must stay 0/1; other types get arbitrary bit patterns (for floats: finite ones).
        byte[] Bytes(int seed) => Enumerable.Range(0, 2 * size).Select(i => (byte)(type == DataType.Bool ? (seed + i) % 2 : (seed * 7 + i * 13) % 120)).ToArray();
        var requests = Enumerable.Range(0, 4).Select(i => new NamedTensor("x", type, [1, 2], Bytes(i))).ToList();
        var results = await Task.WhenAll(requests.Select(r => f.Engine.InferAsync(v, [r])));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(type, results[i][0].ElementType);
            Assert.Equal([1L, 2L], results[i][0].Dims);
            Assert.Equal(requests[i].Data, results[i][0].Data);
        }
    }

    [Fact]
    public async Task Strings_round_trip()
    {
        await using var f = await EngineFixture.CreateAsync(new BatchingOptions { MaxQueueDelay = TimeSpan.FromMilliseconds(20) });
        var v = await f.Registry.RegisterAsync("id", TestModels.Identity(DataType.String, "n"));
        var results = await Task.WhenAll(new[] { new[] { "a", "βγ" }, new[] { "", "δ", "long string" } }
            .Select(s => f.Engine.InferAsync(v, [NamedTensor.Create("x", s, s.Length)])));
        Assert.Equal(["a", "βγ"], results[0][0].Strings!);
        Assert.Equal(["", "δ", "long string"], results[1][0].Strings!);
    }

    [Fact]
    public void Typed_views_check_the_element_size()
    {
        var t = NamedTensor.Create("h", new[] { (Half)1.5f, (Half)(-2f) }, 2);
        Assert.Equal(DataType.Float16, t.ElementType);
        Assert.Equal(new[] { (Half)1.5f, (Half)(-2f) }, t.As<Half>());
        Assert.Throws<InvalidOperationException>(() => t.As<float>());
    }
}
