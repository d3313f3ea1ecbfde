using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Ops;
using NeuralService.Graph.Tests.Support;
using static NeuralService.Graph.Tests.Support.GradientTesting;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Ops;

/// <summary>ONNX Scan: shape inference, forward values against a loop written here, and the reverse-Scan gradient against
/// finite differences (float64 graphs, so that the check runs in double precision).</summary>
public sealed class ScanTests
{
    private static Value D(GraphBuilder g, string name, long[] dims, int seed, double scale = 1)
    {
        var n = (int)dims.Aggregate(1L, (p, d) => p * d);
        var data = Reference.Random(n, seed, (float)scale).Select(v => (double)v).ToArray();
        return g.Constant(Tensors.Create(name, data, dims), ParamPrefix + name);
    }

    /// <summary>h' = tanh(x_t + h·W + b), y_t = h'·h'.</summary>
    private static IReadOnlyList<Value> Rnn(GraphBuilder g, Value h0, ScanInput x, ScanOutput output, Value w, Value b) =>
        ControlFlow.Scan(g, [h0], [x], [output], (bg, s, xs) =>
        {
            var h = bg.Op("Tanh", bg.Op("Add", bg.Op("Add", xs[0], bg.Op("MatMul", s[0], w)), b));
            return new ScanStep([h], [bg.Op("Mul", h, h)]);
        }, "rnn");

    /// <summary>An LSTM cell with a mask that holds both states through masked steps.</summary>
    private static IReadOnlyList<Value> MaskedLstm(GraphBuilder g, bool reverse)
    {
        var x = D(g, "x", [5, 2, 8], 1);
        var h0 = D(g, "h0", [2, 2], 2);
        var c0 = D(g, "c0", [2, 2], 3);
        var u = D(g, "u", [2, 8], 4);
        var mask = g.Constant(Tensors.Create("mask", [true, true, false, true, true, false, true, true, true, true], 5, 2), "mask");
        return ControlFlow.Scan(g, [h0, c0], [new ScanInput(x, 0, reverse), new ScanInput(mask, 0, reverse)], [new ScanOutput(0, reverse)],
            (bg, s, xs) =>
            {
                var z = bg.Op("Add", xs[0], bg.Op("MatMul", s[0], u));
                var gates = bg.Node("Split", [z], [Attr.Int("axis", 1)], 4);
                var i = bg.Op("Sigmoid", gates[0]);
                var f = bg.Op("Sigmoid", gates[1]);
                var cand = bg.Op("Tanh", gates[2]);
                var o = bg.Op("Sigmoid", gates[3]);
                var c = bg.Op("Add", bg.Op("Mul", f, s[1]), bg.Op("Mul", i, cand));
                var h = bg.Op("Mul", o, bg.Op("Tanh", c));
                var m = bg.Op("Unsqueeze", xs[1], bg.Ints(1));
                var hKept = bg.Op("Where", m, h, s[0]);
                var cKept = bg.Op("Where", m, c, s[1]);
                return new ScanStep([hKept, cKept], [bg.Op("Where", m, h, bg.Scalar(0, h.DType))]);
            }, "lstm");
    }

    [Fact]
    public void InfersStatesAndStackedOutputs()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, new Shape([Dim.Batch, Dim.Unknown, 3]));
        var h0 = g.AddInput("h0", DataType.Float, new Shape([Dim.Batch, 3]));
        var w = g.Constant(new float[9], [3, 3], "w");
        var b = g.Constant(new float[3], [3], "b");
        var outs = Rnn(g, h0, new ScanInput(x, 1), new ScanOutput(1), w, b);
        Assert.Equal(new Shape([Dim.Batch, 3]), outs[0].Shape);
        Assert.Equal(new Shape([Dim.Batch, Dim.Unknown, 3]), outs[1].Shape);
        // The body reads w and b from the enclosing graph: they are the node's implicit inputs.
        Assert.Equal(new[] { w.Name, b.Name }.Order(), GraphBuilder.ImplicitInputs(g.Nodes[^1]).Order());
    }

    [Fact]
    public void ForwardMatchesALoop()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, new Shape([Dim.Batch, Dim.Unknown, 2]));
        var h0 = g.AddInput("h0", DataType.Float, new Shape([Dim.Batch, 2]));
        float[] wData = [0.5f, -0.3f, 0.2f, 0.8f], bData = [0.1f, -0.2f];
        var outs = Rnn(g, h0, new ScanInput(x, 1, Reverse: true), new ScanOutput(1), g.Constant(wData, [2, 2], "w"), g.Constant(bData, [2], "b"));
        g.AddOutput(outs[0], "h");
        g.AddOutput(outs[1], "y");
        var model = g.ToModel();
        OnnxChecker.Check(model);
        const int batch = 2, time = 3;
        var xs = Reference.Random(batch * time * 2, 5);
        var hs = Reference.Random(batch * 2, 6);
        var r = Ort.Run(model, ("x", xs, [batch, time, 2]), ("h0", hs, [batch, 2]));
        var expectedY = new float[batch * time * 2];
        var expectedH = new float[batch * 2];
        for (var n = 0; n < batch; n++)
        {
            float[] h = [hs[n * 2], hs[n * 2 + 1]];
            for (var step = 0; step < time; step++)
            {
                var t = time - 1 - step;
                var next = new float[2];
                for (var j = 0; j < 2; j++)
                    next[j] = MathF.Tanh(xs[(n * time + t) * 2 + j] + h[0] * wData[j] + h[1] * wData[2 + j] + bData[j]);
                h = next;
                for (var j = 0; j < 2; j++) expectedY[(n * time + step) * 2 + j] = h[j] * h[j];
            }
            Array.Copy(h, 0, expectedH, n * 2, 2);
        }
        Assert.Equal([batch, time, 2], r["y"].Dims);
        Reference.AssertClose(expectedH, r["h"].Data);
        Reference.AssertClose(expectedY, r["y"].Data);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GradientMatchesFiniteDifferences(bool weightGradientOutside)
    {
        CheckAll(new NeuralService.Graph.Autodiff.GradientOptions { ScanWeightGradientOutside = weightGradientOutside },
            new Case("rnn over axis 1, states and outputs", g =>
            {
                var w = D(g, "w", [3, 3], 10, 0.7);
                return Rnn(g, D(g, "h0", [2, 3], 11), new ScanInput(D(g, "x", [2, 4, 3], 12), 1), new ScanOutput(1), w, D(g, "b", [3], 13));
            }),
            new Case("rnn reversed, only the sequence used", g =>
            {
                var w = D(g, "w", [3, 3], 20, 0.7);
                return [Rnn(g, D(g, "h0", [2, 3], 21), new ScanInput(D(g, "x", [4, 2, 3], 22), 0, true), new ScanOutput(0, true), w, D(g, "b", [3], 23))[1]];
            }),
            new Case("rnn, only the final state used", g =>
            {
                var w = D(g, "w", [3, 3], 30, 0.7);
                return [Rnn(g, D(g, "h0", [2, 3], 31), new ScanInput(D(g, "x", [4, 2, 3], 32), 0), new ScanOutput(0), w, D(g, "b", [3], 33))[0]];
            }),
            new Case("masked lstm", g => MaskedLstm(g, false)),
            new Case("masked lstm reversed", g => MaskedLstm(g, true)),
            new Case("two stacked scans, weight read outside too", g =>
            {
                var w = D(g, "w", [3, 3], 40, 0.7);
                var b = D(g, "b", [3], 41);
                var first = Rnn(g, D(g, "h0", [2, 3], 42), new ScanInput(D(g, "x", [2, 4, 3], 43), 1), new ScanOutput(1), w, b);
                var second = Rnn(g, first[0], new ScanInput(g.Op("MatMul", first[1], w), 1, true), new ScanOutput(1), w, b);
                return [second[0], second[1]];
            }));
    }

    [Fact]
    public void MissingRuleInsideTheBodyNamesTheOpAndNode()
    {
        var g = new GraphBuilder();
        var x = D(g, "x", [3, 2, 4], 1);
        var h0 = D(g, "h0", [2, 4], 2);
        var w = D(g, "w", [1, 4, 4], 3);
        // The fused RNN op has no gradient rule (by design: layers differentiate decomposed cells).
        var outs = ControlFlow.Scan(g, [h0], [new ScanInput(x)], [], (bg, s, xs) =>
        {
            var rnn = bg.Node("RNN", [bg.Op("Unsqueeze", xs[0], bg.Ints(0)), w, w], [Attr.Int("hidden_size", 4)], 2, name: "odd_one");
            return new ScanStep([bg.Op("Add", bg.Op("Squeeze", rnn[1], bg.Ints(0)), s[0])], []);
        }, "odd");
        var e = Assert.ThrowsAny<GraphException>(() => NeuralService.Graph.Autodiff.Gradients.Build(g, g.Node1("ReduceSum", [outs[0]], [Attr.Int("keepdims", 0)]), [x, h0]));
        Assert.Contains("Scan node", e.Message);
        Assert.Contains("odd_one", e.Message);
    }
}
