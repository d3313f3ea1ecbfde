using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Execution;

public sealed class CudaGraphPlanTests
{
    [Fact]
    public void EachBindingReplaysItsOwnGraphForTheFirstShape()
    {
        var plan = new CudaGraphPlan(enabled: true);
        Assert.Equal("1", plan.GraphId(0, "x:64,28,28,1"));
        Assert.Equal("2", plan.GraphId(1, "x:64,28,28,1"));
        Assert.Equal("1", plan.GraphId(0, "x:64,28,28,1"));
        Assert.Equal("x:64,28,28,1", plan.CapturedShape);
    }

    [Fact]
    public void AnotherShapeRunsWithoutAGraphAndLeavesTheCapturedOnes()
    {
        var plan = new CudaGraphPlan(enabled: true);
        plan.GraphId(0, "x:64");
        Assert.Equal(CudaGraphPlan.Skip, plan.GraphId(1, "x:16"));
        Assert.Equal(CudaGraphPlan.Skip, plan.GraphId(0, "x:16"));
        Assert.Equal("2", plan.GraphId(1, "x:64"));
    }

    [Fact]
    public void NoIdWhenGraphsAreOffAndNoZeroEver()
    {
        var off = new CudaGraphPlan(enabled: false);
        Assert.Null(off.GraphId(0, "x:64"));
        Assert.Null(off.CapturedShape);
        // ONNX Runtime reserves id 0 for its own default graph.
        var on = new CudaGraphPlan(enabled: true);
        Assert.DoesNotContain("0", new[] { on.GraphId(0, "a"), on.GraphId(1, "a"), on.GraphId(0, "b") });
        Assert.Throws<ArgumentOutOfRangeException>(() => on.GraphId(2, "a"));
    }
}
