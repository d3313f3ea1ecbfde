using NeuralService.Graph.Layers;
using NeuralService.Graph.Models;
using NeuralService.Graph.Tests.Support;

namespace NeuralService.Graph.Tests.Layers.Attention;

public sealed class PositionEncodingTests
{
    [Fact]
    public void PositionEmbeddingBroadcastsTheFirstRowsOfItsTable()
    {
        var x = Input.Of(3, 4);
        var pe = new PositionEmbedding(sequenceLength: 5);
        var model = new Functional(x, pe.Apply(x));
        Assert.Equal(5 * 4, pe.CountParams());
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var (y, dims) = Ort.Run1(onnx, Reference.Random(2 * 12, 1), [2, 3, 4]);
        Assert.Equal([2, 3, 4], dims);
        var table = pe.Weights[0].Data;
        var expected = Enumerable.Range(0, 2).SelectMany(_ => table.Take(12)).ToArray();
        Reference.AssertClose(expected, y);
    }

    [Fact]
    public void PositionEmbeddingHonoursStartIndex()
    {
        var x = Input.Of(2, 3);
        var pe = new PositionEmbedding(sequenceLength: 6);
        var model = new Functional(x, pe.Apply([x], new Dictionary<string, object?> { ["start_index"] = 3 }));
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var (y, _) = Ort.Run1(onnx, new float[6], [1, 2, 3]);
        Reference.AssertClose(pe.Weights[0].Data.Skip(9).Take(6).ToArray(), y);
    }

    [Fact]
    public void SinePositionEncodingMatchesTheFormula()
    {
        var x = Input.Of(5, 6);
        var model = new Functional(x, new SinePositionEncoding().Apply(x));
        var onnx = model.ToOnnx();
        OnnxChecker.Check(onnx);
        var (y, dims) = Ort.Run1(onnx, Reference.Random(2 * 30, 2), [2, 5, 6]);
        Assert.Equal([2, 5, 6], dims);
        var expected = new float[2 * 30];
        for (var b = 0; b < 2; b++)
            for (var t = 0; t < 5; t++)
                for (var i = 0; i < 6; i++)
                {
                    var angle = t * Math.Pow(10000, -2.0 * (i / 2) / 6);
                    expected[(b * 5 + t) * 6 + i] = (float)(i % 2 == 0 ? Math.Sin(angle) : Math.Cos(angle));
                }
        Reference.AssertClose(expected, y);
        Assert.Equal(0, model.CountParams());
    }

    [Fact]
    public void SinePositionEncodingWorksForUnknownLengths()
    {
        var x = Input.Of([null, 4]);
        var onnx = new Functional(x, new SinePositionEncoding(maxWavelength: 100).Apply(x)).ToOnnx();
        OnnxChecker.Check(onnx);
        var (y, dims) = Ort.Run1(onnx, new float[3 * 4], [1, 3, 4]);
        Assert.Equal([1, 3, 4], dims);
        Assert.Equal((float)Math.Cos(2 * Math.Pow(100, -2.0 / 4)), y[2 * 4 + 3], 5);
    }

    [Fact]
    public void PositionEmbeddingExtendsHierarchicallyBeyondItsTable()
    {
        const int l = 3, t = 7, d = 2;
        var x = Input.Of(t, d);
        var pe = new PositionEmbedding(sequenceLength: l);
        var onnx = new Functional(x, pe.Apply(x)).ToOnnx();
        OnnxChecker.Check(onnx);
        var e = pe.Weights[0].Data;
        const double alpha = 0.4;
        double Rescaled(int row, int c) => (e[row * d + c] - alpha * e[c]) / (1 - alpha);
        var expected = new float[t * d];
        for (var i = 0; i < t; i++)
            for (var c = 0; c < d; c++) expected[i * d + c] = (float)(alpha * Rescaled(i / l, c) + (1 - alpha) * Rescaled(i % l, c));
        Reference.AssertClose(expected, Ort.Run1(onnx, new float[t * d], [1, t, d]).Data);
        // At exactly the table length the extension gives the table itself, as in keras-hub.
        Reference.AssertClose(e.Take(l * d).ToArray(), expected.Take(l * d).ToArray(), 1e-5);
    }

    [Fact]
    public void PositionEmbeddingRejectsStartIndexPastTheTable()
    {
        var x = Input.Of(2, 2);
        Assert.Contains("exceed", Assert.ThrowsAny<Exception>(() => new PositionEmbedding(3).Apply([x], new Dictionary<string, object?> { ["start_index"] = 2 })).Message);
    }
}
