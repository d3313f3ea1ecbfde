using System.Text.Json.Nodes;
using NeuralService.Graph.Core;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Tests.Support;
using NeuralService.Graph.Training;
using DataType = Onnx.TensorProto.Types.DataType;

namespace NeuralService.Graph.Tests.Training;

public sealed class RegularizersTests
{
    [Fact]
    public void BareNamesTakeKerasDefaultFactors()
    {
        Assert.Equal((0.01, 0.0), Regularizers.Factors(ObjectSpec.Of("l1")));
        Assert.Equal((0.0, 0.01), Regularizers.Factors(ObjectSpec.Of("L2")));
        Assert.Equal((0.01, 0.01), Regularizers.Factors(ObjectSpec.Of("l1_l2")));
    }

    [Fact]
    public void SerializedConfigsGiveTheirFactors()
    {
        Assert.Equal((0.0, 0.003), Regularizers.Factors(new ObjectSpec("L2", new JsonObject { ["l2"] = 0.003 })));
        Assert.Equal((0.2, 0.0), Regularizers.Factors(new ObjectSpec("L1L2", new JsonObject { ["l1"] = 0.2 })));
        Assert.Contains("orthogonal", Assert.Throws<ArgumentException>(() => Regularizers.Factors(ObjectSpec.Of("orthogonal_regularizer"))).Message);
    }

    [Fact]
    public void TotalPenaltyMatchesReference()
    {
        var g = new GraphBuilder();
        var a = g.AddInput("a", DataType.Float, Shape.Of(2, 3));
        var b = g.AddInput("b", DataType.Float, Shape.Of(4));
        var l1l2 = new ObjectSpec("L1L2", new JsonObject { ["l1"] = 0.1, ["l2"] = 0.2 });
        g.AddOutput(Regularizers.Total(g, [(l1l2, a), (ObjectSpec.Of("l2"), b)])!, "penalty");
        var model = g.ToModel("reg");
        OnnxChecker.Check(model);
        var av = Reference.Random(6, 1);
        var bv = Reference.Random(4, 2);
        var got = Ort.Run(model, ("a", av, [2, 3]), ("b", bv, [4]))["penalty"].Data;
        var expected = 0.1 * av.Sum(x => Math.Abs(x)) + 0.2 * av.Sum(x => x * x) + 0.01 * bv.Sum(x => x * x);
        Reference.AssertClose([(float)expected], got);
    }
}
