using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using NeuralService.Training.Execution;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Training.Tests.Execution;

public sealed class StepSessionTests
{
    /// <summary>loss = Σ w·x; w' = w − lr·Σ_batch x; count' = count + step (a second carried tensor and an int scalar).</summary>
    private static (Onnx.ModelProto Model, StepSignature Signature) SgdOnALinearLoss()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, 3));
        var lr = g.AddInput("lr", DataType.Float, Shape.Scalar);
        var step = g.AddInput("step", DataType.Int64, Shape.Scalar);
        var w = g.AddInput("w", DataType.Float, Shape.Of(3));
        var count = g.AddInput("count", DataType.Float, Shape.Of(1));
        var loss = g.Node1("ReduceSum", [g.Node1("Mul", [x, w]), null], [Attr.Int("keepdims", 0)]);
        var grad = g.Node1("ReduceSum", [x, g.Ints(0)], [Attr.Int("keepdims", 0)]);
        var newW = g.Node1("Sub", [w, g.Node1("Mul", [lr, grad])]);
        var newCount = g.Node1("Add", [count, g.Node1("Cast", [step], [Attr.Int("to", (long)DataType.Float)])]);
        g.AddOutput(loss, "loss");
        g.AddOutput(newW, "w.new");
        g.AddOutput(newCount, "count.new");
        return (g.ToModel(), new StepSignature(["x"], [("w", "w.new"), ("count", "count.new")], ["lr", "step"], ["loss"]));
    }

    [Fact]
    public void CarriedStateAdvancesAcrossSwappedBuffers()
    {
        var (model, sig) = SgdOnALinearLoss();
        OnnxChecker.Check(model);
        using var session = new StepSession(model, sig, new Dictionary<string, float[]> { ["w"] = [1, 2, 3], ["count"] = [0] }, new DeviceOptions { Kind = DeviceKind.Cpu });
        var w = new double[] { 1, 2, 3 };
        for (var k = 1; k <= 5; k++)
        {
            float[] batch = [k, 1, -1, 0.5f, 2, k];
            session.SetBatch("x", batch, [2, 3]);
            session.SetScalar("lr", 0.1);
            session.SetScalar("step", k);
            var loss = session.Step()[0];
            var expected = 0.0;
            for (var i = 0; i < 6; i++) expected += batch[i] * w[i % 3];
            Assert.Equal(expected, loss, 4);
            for (var j = 0; j < 3; j++) w[j] -= 0.1 * (batch[j] + batch[3 + j]);
        }
        Reference.AssertClose(w.Select(v => (float)v).ToArray(), session.ReadState("w"));
        Assert.Equal(15f, session.ReadState("count")[0]);
        Assert.Equal(DeviceKind.Cpu, session.Device);
    }

    [Fact]
    public void APartialLastBatchRebindsItsInput()
    {
        var (model, sig) = SgdOnALinearLoss();
        using var session = new StepSession(model, sig, new Dictionary<string, float[]> { ["w"] = [1, 1, 1], ["count"] = [0] }, new DeviceOptions { Kind = DeviceKind.Cpu });
        session.SetScalar("lr", 0);
        session.SetBatch("x", new float[] { 1, 1, 1, 1, 1, 1 }, [2, 3]);
        Assert.Equal(6f, session.Step()[0]);
        session.SetBatch("x", new float[] { 2, 2, 2 }, [1, 3]);
        Assert.Equal(6f, session.Step()[0]);
    }

    [Fact]
    public void WrittenStateIsWhatTheNextStepReads()
    {
        var (model, sig) = SgdOnALinearLoss();
        using var session = new StepSession(model, sig, new Dictionary<string, float[]> { ["w"] = [0, 0, 0], ["count"] = [0] }, new DeviceOptions { Kind = DeviceKind.Cpu });
        session.SetScalar("lr", 0);
        session.SetBatch("x", new float[] { 1, 2, 3 }, [1, 3]);
        session.Step();
        session.WriteState("w", [1, 1, 1]);
        Assert.Equal(6f, session.Step()[0]);
    }
}
