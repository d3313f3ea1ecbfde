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
}
