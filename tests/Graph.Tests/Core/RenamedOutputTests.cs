using NeuralService.Graph.Core;
using NeuralService.Graph.Onnx;
using NeuralService.Graph.Tests.Support;
using static Onnx.TensorProto.Types;

namespace NeuralService.Graph.Tests.Core;

/// <summary>Outputs that <see cref="GraphBuilder.AddOutput"/> renames are written by their producers in the model, not
/// copied by an Identity, while the builder's own nodes stay as they were.</summary>
public sealed class RenamedOutputTests
{
    [Fact]
    public void ARenamedOutputWithOtherReadersIsWrittenByItsProducer()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(2, 3));
        var doubled = g.Add(x, x);
        var squared = g.Mul(doubled, doubled);
        g.AddOutput(doubled, "doubled.new");
        g.AddOutput(squared, "squared");
        var model = g.ToModel();

        Assert.DoesNotContain(model.Graph.Node, n => n.OpType == "Identity");
        var add = Assert.Single(model.Graph.Node, n => n.OpType == "Add");
        Assert.Equal("doubled.new", add.Output[0]);
        Assert.Equal(["doubled.new", "doubled.new"], Assert.Single(model.Graph.Node, n => n.OpType == "Mul").Input);
        OnnxChecker.Check(model);
        var outputs = Ort.Run(model, ("x", [1, 2, 3, 4, 5, 6], [2, 3]));
        Assert.Equal([2f, 4, 6, 8, 10, 12], outputs["doubled.new"].Data);
        Assert.Equal([4f, 16, 36, 64, 100, 144], outputs["squared"].Data);

        // The builder keeps its Identity: a second model is the same.
        Assert.Contains(g.Nodes, n => n.OpType == "Identity");
        Assert.Equal(model.Graph.Node.Select(n => n.ToString()), g.ToModel().Graph.Node.Select(n => n.ToString()));
    }

    [Fact]
    public void InputsOutputsAndValuesRenamedTwiceKeepTheirIdentities()
    {
        var g = new GraphBuilder();
        var x = g.AddInput("x", DataType.Float, Shape.Of(2));
        var y = g.Add(x, x);
        g.AddOutput(x, "x.copy");       // a graph input: copied
        g.AddOutput(y, "first");        // written by the Add
        g.AddOutput(y, "second");       // the same value again: an Identity of "first"
        var model = g.ToModel();

        var identities = model.Graph.Node.Where(n => n.OpType == "Identity").ToList();
        Assert.Equal(2, identities.Count);
        Assert.Contains(identities, n => n.Input[0] == "x" && n.Output[0] == "x.copy");
        Assert.Contains(identities, n => n.Input[0] == "first" && n.Output[0] == "second");
        OnnxChecker.Check(model);
        var outputs = Ort.Run(model, ("x", [1, 2], [2]));
        Assert.Equal([1f, 2], outputs["x.copy"].Data);
        Assert.Equal([2f, 4], outputs["first"].Data);
        Assert.Equal([2f, 4], outputs["second"].Data);
    }
}
