using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Execution;

public sealed class DeviceOptionsTests
{
    [Theory]
    [InlineData(null, DeviceKind.Auto, 0)]
    [InlineData("auto", DeviceKind.Auto, 0)]
    [InlineData("CPU", DeviceKind.Cpu, 0)]
    [InlineData("cuda", DeviceKind.Cuda, 0)]
    [InlineData("gpu", DeviceKind.Cuda, 0)]
    [InlineData("cuda:3", DeviceKind.Cuda, 3)]
    [InlineData(" gpu:1 ", DeviceKind.Cuda, 1)]
    public void NamesMapToAKindAndAGpuIndex(string? name, DeviceKind kind, int index)
    {
        var options = DeviceOptions.Parse(name);
        Assert.Equal(kind, options.Kind);
        Assert.Equal(index, options.CudaDeviceId);
    }

    [Theory]
    [InlineData("tpu")]
    [InlineData("cpu:0")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("cuda:x")]
    [InlineData("cuda:99999")]
    public void AnythingElseIsRefusedQuotingTheValue(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => DeviceOptions.Parse(name));
        Assert.Contains($"'{name}'", e.Message);
        Assert.Contains("cuda:N", e.Message);
    }

    [Theory]
    [InlineData("cuda+graphs", 0)]
    [InlineData("CUDA:2+graph", 2)]
    public void AGraphsSuffixTurnsOnCudaGraphs(string name, int index)
    {
        var options = DeviceOptions.Parse(name);
        Assert.Equal(DeviceKind.Cuda, options.Kind);
        Assert.Equal(index, options.CudaDeviceId);
        Assert.True(options.CudaGraphs);
        Assert.False(DeviceOptions.Parse("cuda").CudaGraphs);
    }

    [Theory]
    [InlineData("cpu+graphs")]
    [InlineData("auto+graphs")]
    public void GraphsOnAnythingButCudaAreRefused(string name)
    {
        var e = Assert.Throws<ArgumentException>(() => DeviceOptions.Parse(name));
        Assert.Contains("CUDA graphs need a CUDA device", e.Message);
    }

    [Fact]
    public void CudaGraphsOnTheCpuAreRefusedBeforeAnySessionIsBuilt()
    {
        var e = Assert.Throws<ArgumentException>(() => Devices.Create(new DeviceOptions { Kind = DeviceKind.Cpu, CudaGraphs = true }, out _, out _));
        Assert.Contains("CUDA graphs need a CUDA device", e.Message);
    }

    /// <summary>The default build carries ONNX Runtime's CPU package: asking for CUDA fails at once, saying what to do;
    /// auto falls back to the CPU and says why.</summary>
    [SkippableFact]
    public void CudaWithoutItsProviderFailsClearlyAndAutoFallsBack()
    {
        Skip.If(Microsoft.ML.OnnxRuntime.OrtEnv.Instance().GetAvailableProviders().Contains("CUDAExecutionProvider"), "this build has the CUDA provider");
        var e = Assert.Throws<InvalidOperationException>(() => Devices.Create(new DeviceOptions { Kind = DeviceKind.Cuda }, out _, out _));
        Assert.Contains("CUDA was requested but its provider did not load", e.Message);
        Assert.Contains("UseCuda=true", e.Message);
        using var auto = Devices.Create(new DeviceOptions { Kind = DeviceKind.Auto, CudaGraphs = true }, out var chosen, out var reason);
        Assert.Equal(DeviceKind.Cpu, chosen);
        Assert.Contains("running on CPU without CUDA graphs", reason);
    }
}
