using Microsoft.ML.OnnxRuntime;
using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using NeuralService.Training.Execution;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Training.Tests.Execution;

/// <summary>The device-memory path (<see cref="DeviceState"/>: state from the session's allocator, batches and fetches
/// moved by Identity sessions, fixed fetch buffers and graph ids for CUDA graphs) run on the CPU, against the host path
/// (<see cref="HostState"/>): both must compute the same steps.</summary>
public sealed class DeviceStateTests
{
    private static readonly DeviceOptions Cpu = new() { Kind = DeviceKind.Cpu, IntraOpThreads = 1 };

    private static Func<InferenceSession, StepLayout, IStepState> Host => (s, l) => new HostState(s, l);

    private static Func<InferenceSession, StepLayout, IStepState> Device(bool graphs, List<DeviceState>? made = null) => (s, l) =>
    {
        var state = new DeviceState(s, l, OrtMemoryInfo.DefaultInstance, Cpu, graphs);
        made?.Add(state);
        return state;
    };

    /// <summary>loss = Σ w·x; pred = x·w per sample (a batch-sized fetch); w' = w − lr·Σ_batch x; count' = count + step.</summary>
    private static (Onnx.ModelProto Model, StepSignature Signature) Linear()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(Dim.Batch, 3));
        var lr = g.AddInput("lr", DataType.Float, Shape.Scalar);
        var step = g.AddInput("step", DataType.Int64, Shape.Scalar);
        var w = g.AddInput("w", DataType.Float, Shape.Of(3));
        var count = g.AddInput("count", DataType.Float, Shape.Of(1));
        var xw = g.Node1("Mul", [x, w]);
        var loss = g.Node1("ReduceSum", [xw, null], [Attr.Int("keepdims", 0)]);
        var pred = g.Node1("ReduceSum", [xw, g.Ints(1)], [Attr.Int("keepdims", 0)]);
        var grad = g.Node1("ReduceSum", [x, g.Ints(0)], [Attr.Int("keepdims", 0)]);
        g.AddOutput(loss, "loss");
        g.AddOutput(pred, "pred");
        g.AddOutput(g.Node1("Sub", [w, g.Node1("Mul", [lr, grad])]), "w.new");
        g.AddOutput(g.Node1("Add", [count, g.Node1("Cast", [step], [Attr.Int("to", (long)DataType.Float)])]), "count.new");
        return (g.ToModel(), new StepSignature(["x"], [("w", "w.new"), ("count", "count.new")], ["lr", "step"], ["loss", "pred"]));
    }

    private static Dictionary<string, float[]> Start() => new() { ["w"] = [1, 2, 3], ["count"] = [0] };

    /// <summary>Full batches of 2, then a partial batch of 1 (as an epoch's last), then full again.</summary>
    private static List<(float[] Loss, float[] Pred)> RunLinear(StepSession session)
    {
        var fetched = new List<(float[], float[])>();
        for (var k = 1; k <= 6; k++)
        {
            var rows = k == 3 ? 1 : 2;
            var batch = Enumerable.Range(0, rows * 3).Select(i => (float)(k + i * 0.5 - 1)).ToArray();
            session.SetBatch("x", batch, [rows, 3]);
            session.SetScalar("lr", 0.1);
            session.SetScalar("step", k);
            var r = session.Run();
            fetched.Add((r[0], r[1]));
        }
        return fetched;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void DeviceResidentStateComputesWhatHostStateDoes(bool graphs)
    {
        var (model, sig) = Linear();
        OnnxChecker.Check(model);
        using var host = new StepSession(model, sig, Start(), Cpu, Host);
        using var device = new StepSession(model, sig, Start(), Cpu, Device(graphs));
        var expected = RunLinear(host);
        var actual = RunLinear(device);
        for (var k = 0; k < expected.Count; k++)
        {
            Assert.Equal(expected[k].Loss, actual[k].Loss);
            Assert.Equal(expected[k].Pred, actual[k].Pred);
        }
        Assert.Single(actual[2].Pred);
        Assert.Equal(host.ReadState("w"), device.ReadState("w"));
        Assert.Equal(21f, device.ReadState("count")[0]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WrittenStateIsReadByTheNextStepInPlace(bool graphs)
    {
        var (model, sig) = Linear();
        using var session = new StepSession(model, sig, Start(), Cpu, Device(graphs));
        session.SetScalar("lr", 0);
        session.SetBatch("x", new float[] { 1, 2, 3 }, [1, 3]);
        session.Step();
        session.WriteState("w", [1, 1, 1]);
        Assert.Equal([1f, 1f, 1f], session.ReadState("w"));
        Assert.Equal(6f, session.Step()[0]);
        Assert.Throws<ArgumentException>(() => session.WriteState("w", [1, 1]));
    }

    [Fact]
    public void GraphIdsFollowTheBindingAndSkipThePartialBatch()
    {
        var (model, sig) = Linear();
        var made = new List<DeviceState>();
        using var session = new StepSession(model, sig, Start(), Cpu, Device(true, made));
        RunLinear(session);
        var plan = made.Single().Plan;
        Assert.True(plan.Enabled);
        Assert.Equal("x:2,3", plan.CapturedShape);
    }

    /// <summary>The seed CNN's compiled Adam step (conv, pooling, dense; 10 carried tensors and their moments), over
    /// batches of 4 and a last one of 2: the device path gives the host path's losses and parameters.</summary>
    [Fact]
    public void SeedCnnStepsMatchTheHostPath()
    {
        var model = KerasModelJson.ReadFile(Path.Combine(RepoPaths.Specs, "mnist_cnn.json"));
        var compiled = TrainingGraph.Compile(model, ["sparse_categorical_crossentropy"], new Adam());
        var s = compiled.Signature;
        var sig = new StepSignature([.. s.Features, .. s.Targets], s.Persistent.Select(p => (p.Input, p.Output!)).ToList(),
            [s.LearningRate!, s.Step!], [s.LossOutput]);
        var initial = s.Persistent.ToDictionary(p => p.Input, p => p.Initial());
        using var host = new StepSession(compiled.Model, sig, initial, Cpu, Host);
        using var device = new StepSession(compiled.Model, sig, initial, Cpu, Device(true));
        var random = new Random(3);
        var feature = s.Features.Single();
        var target = s.Targets.Single();
        foreach (var rows in new[] { 4, 4, 2, 4 })
        {
            var x = Enumerable.Range(0, rows * 28 * 28).Select(_ => (float)random.NextDouble()).ToArray();
            var y = Enumerable.Range(0, rows).Select(_ => (long)random.Next(10)).ToArray();
            foreach (var session in new[] { host, device })
            {
                session.SetBatch(feature, x, [rows, 28, 28, 1]);
                session.SetBatch(target, y, [rows]);
                session.SetScalar(s.LearningRate!, 0.001);
                session.SetScalar(s.Step!, host.Steps);
            }
            Assert.Equal(host.Step()[0], device.Step()[0]);
        }
        foreach (var name in host.StateNames) Assert.Equal(host.ReadState(name), device.ReadState(name));
    }

    /// <summary>gpu-check.sh finds a step's profile by its prefix (NEURAL_ORT_PROFILE goes through the same option).</summary>
    [Fact]
    public void AProfileIsWrittenUnderItsPrefix()
    {
        var (model, sig) = Linear();
        var dir = Directory.CreateTempSubdirectory("step-profile-");
        try
        {
            using var session = new StepSession(model, sig, Start(), Cpu with { EnableProfiling = true, ProfilePrefix = Path.Combine(dir.FullName, "step") }, Host);
            RunLinear(session);
            var path = session.EndProfiling();
            Assert.StartsWith(Path.Combine(dir.FullName, "step"), path);
            Assert.Contains("\"cat\" : \"Node\"", File.ReadAllText(path).Replace("\"cat\":\"Node\"", "\"cat\" : \"Node\""));
        }
        finally { dir.Delete(recursive: true); }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AFilledFirstValueStartsEveryElementThereOnBothPaths(bool device)
    {
        var (model, sig) = Linear();
        var start = new Dictionary<string, InitialValue> { ["w"] = new float[] { 1, 2, 3 }, ["count"] = InitialValue.Filled(5) };
        using var session = new StepSession(model, sig, start, Cpu, device ? Device(false) : Host);
        Assert.Equal([5f], session.ReadState("count"));
        session.SetBatch("x", new float[] { 1, 1, 1 }, [1, 3]);
        session.SetScalar("lr", 0);
        session.SetScalar("step", 2);
        session.Run();
        Assert.Equal([7f], session.ReadState("count"));
        // The value the next step reads, in place: what an evaluation session is fed.
        Assert.Equal([7f], session.StateValue("count").GetTensorDataAsSpan<float>().ToArray());
        var e = Assert.Throws<ArgumentException>(() => new StepSession(model, sig, new Dictionary<string, InitialValue> { ["w"] = new float[] { 1, 2 }, ["count"] = InitialValue.Filled(0) }, Cpu, Host));
        Assert.Contains("'w' has 2 elements, its shape [3] 3", e.Message);
    }
}
