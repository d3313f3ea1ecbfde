using NeuralService.Api.Jobs;
using NeuralService.Graph.Keras;
using NeuralService.Graph.Training;

namespace NeuralService.Api.Tests.Jobs;

public sealed class JobMemoryEstimateTests
{
    private static string Mlp(long units) => $$$"""
        {"class_name": "Sequential", "config": {"name": "m", "layers": [
          {"class_name": "InputLayer", "config": {"batch_shape": [null, 4], "dtype": "float32", "name": "in"}},
          {"class_name": "Dense", "config": {"name": "hidden", "units": {{{units}}}, "activation": "relu"}},
          {"class_name": "Dense", "config": {"name": "out", "units": 3, "activation": "softmax"}}]}}
        """;

    [Fact]
    public void ParametersSlotsGradientsAndActivationsAddUpForASmallMlp()
    {
        var model = KerasModelJson.Read(Mlp(8));
        // 4·8 + 8 + 8·3 + 3 = 67 parameters; adam keeps two slots.
        var e = JobMemoryEstimate.Of(model, OptimizerGraph.Get("adam"), batchSize: 16);
        Assert.Equal(67, e.Parameters);
        Assert.Equal(67, e.TrainableParameters);
        Assert.Equal(2, e.OptimizerSlots);
        Assert.Equal(4.0 * 67 * (1 + 2 + 1), e.ParameterBytes);
        // Layer outputs per sample: input 4 + hidden 8 + out 3 floats, × batch 16, × 2 for the backward pass.
        Assert.Equal(2.0 * 16 * 4 * (4 + 8 + 3), e.ActivationBytes);
        Assert.Equal(4.0 * 67 * (1 + 0 + 1), JobMemoryEstimate.Of(model, OptimizerGraph.Get("sgd"), 16).ParameterBytes);
    }

    [Fact]
    public void AHugeModelIsSizedWithoutAllocatingItsWeights()
    {
        var before = GC.GetAllocatedBytesForCurrentThread();
        var model = KerasModelJson.Read(Mlp(50_000_000));
        var e = JobMemoryEstimate.Of(model, OptimizerGraph.Get("adam"), batchSize: 32);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(400_000_003, e.Parameters);
        Assert.True(e.TotalBytes > 10e9, e.Describe(1L << 30));
        Assert.All(model.Weights, w => Assert.False(w.IsMaterialized, w.Path));
        Assert.True(allocated < 64L << 20, $"sizing allocated {allocated} bytes");
        Assert.Contains("400000003 parameters", e.Describe(1L << 30));
        Assert.Contains("1073741824 bytes (1 GiB, Jobs:MaxMemoryBytes)", e.Describe(1L << 30));
    }

    [Fact]
    public void WeightsFilledOnFirstReadAreTheSameEveryTime()
    {
        var a = KerasModelJson.Read(Mlp(8)).Weights.Select(w => w.Data.ToArray()).ToList();
        var b = KerasModelJson.Read(Mlp(8)).Weights.Select(w => w.Data.ToArray()).ToList();
        Assert.Equal(a, b);
        Assert.Contains(a, d => d.Any(v => v != 0)); // glorot kernels, not zeros
    }

    [Fact]
    public void TheBudgetDefaultsToHalfTheAvailableMemoryAndIsValidated()
    {
        var o = new JobOptions();
        Assert.Equal("process", o.Runner);
        Assert.Equal(Math.Max(256L << 20, GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 2), o.MemoryBudget);
        o.MaxMemoryBytes = 1000;
        var errors = o.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(o)).Select(r => r.ErrorMessage).ToList();
        Assert.Contains(errors, m => m!.Contains("Jobs:MaxMemoryBytes must be at least 67108864 (64 MiB), got 1000", StringComparison.Ordinal));
        o.MaxMemoryBytes = null;
        o.Runner = "thread";
        Assert.Contains(o.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(o)), r => r.ErrorMessage!.Contains("'thread'", StringComparison.Ordinal));
    }

    [Fact]
    public void KubernetesJobsAreCheckedAgainstTheirPodsMemoryLimitUnlessABudgetIsSet()
    {
        Assert.Equal(new JobOptions().MemoryBudget, JobService.SubmitBudgetOf(new JobOptions(), "8Gi"));
        Assert.Equal(8L << 30, JobService.SubmitBudgetOf(new JobOptions { Runner = "kubernetes" }, "8Gi"));
        Assert.Null(JobService.SubmitBudgetOf(new JobOptions { Runner = "kubernetes" }, null));
        Assert.Equal(1L << 30, JobService.SubmitBudgetOf(new JobOptions { Runner = "kubernetes", MaxMemoryBytes = 1L << 30 }, "8Gi"));
    }
}
