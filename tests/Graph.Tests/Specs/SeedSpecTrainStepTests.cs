using NeuralService.Graph.Keras;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Tests.Training;
using NeuralService.Graph.Training;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Specs;

/// <summary>The seed's several-input and several-output specs train through the bare compiled step (without the
/// trainer, which SeedSpecTrainingTests covers): on a fixed generated batch the loss is finite and falls, and every
/// parameter changes.</summary>
public sealed class SeedSpecTrainStepTests
{
    private const int Batch = 4;

    [Theory]
    [InlineData("two_input.json")]
    [InlineData("two_output.json")]
    public void SpecLearnsAFixedBatch(string file)
    {
        var model = KerasModelJson.ReadFile(Path.Combine(RepoPaths.Specs, file));
        var compiled = TrainingGraph.Compile(model, "mse", new Adam { LearningRate = 0.001 });
        OnnxChecker.Check(compiled.Model);
        var sig = compiled.Signature;
        var rng = new Random(3);
        var batch = sig.Inputs.Where(i => i.Role is TensorRole.Feature or TensorRole.Target).Select(i =>
        {
            var dims = new[] { Batch }.Concat(i.Shape.Dims.Skip(1).Select(d => (int)d.Known)).ToArray();
            var n = dims.Aggregate(1, (p, d) => p * d);
            Assert.Equal(DataType.Float, i.DType);
            return Feed.F(i.Name, Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray(), dims);
        }).ToList();
        Assert.Equal(model.Inputs.Count + model.Outputs.Count, batch.Count);
        Assert.True(model.Inputs.Count + model.Outputs.Count > 2, $"{file} has one input and one output");

        using var loop = new TrainingLoop(compiled);
        var initial = sig.Parameters.ToDictionary(p => p.Input, p => loop.Persistent[p.Input]);
        var losses = Enumerable.Range(0, 20).Select(_ => loop.Step(batch, 0.001f)[sig.LossOutput][0]).ToList();
        Assert.All(losses, l => Assert.True(float.IsFinite(l), string.Join(", ", losses)));
        Assert.True(losses[^1] < losses[0] * 0.8, $"{file}: loss {string.Join(" → ", losses)}");
        Assert.All(sig.Parameters, p => Assert.False(initial[p.Input].SequenceEqual(loop.Persistent[p.Input]), $"{p.Input} did not change"));
    }
}
