using NeuralService.Training.Execution;

namespace NeuralService.Training.Tests.Execution;

public sealed class HostBufferTests
{
    [Theory]
    [InlineData(7)]
    [InlineData(3 << 20)] // 12 MiB: 2 MiB-aligned, advised as huge pages
    public void ATensorOverTheBufferSeesItsValuesBothWays(int count)
    {
        using var buffer = new HostBuffer(count);
        buffer.Span.Fill(1.5f);
        using var value = buffer.CreateValue([count]);
        Assert.Equal(count, value.GetTensorTypeAndShape().ElementCount);
        Assert.All(value.GetTensorDataAsSpan<float>().ToArray(), v => Assert.Equal(1.5f, v));
        value.GetTensorMutableDataAsSpan<float>()[count - 1] = -2;
        Assert.Equal(-2, buffer.Span[count - 1]);
        if (count >= 1 << 19) Assert.Equal(0, buffer.Address % (2 << 20));
    }
}
